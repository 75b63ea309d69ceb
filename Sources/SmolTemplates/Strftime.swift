import Foundation

/// The `strftime` codes chat templates use (C locale names), computed from the injected clock.
enum Strftime {
    static let months = ["January", "February", "March", "April", "May", "June", "July",
                         "August", "September", "October", "November", "December"]
    static let weekdays = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]

    static func format(_ format: String, date: Date, timeZone: TimeZone) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second, .weekday, .nanosecond], from: date)
        let year = c.year ?? 1970
        let month = c.month ?? 1
        let day = c.day ?? 1
        let hour = c.hour ?? 0
        let minute = c.minute ?? 0
        let second = c.second ?? 0
        let weekday = (c.weekday ?? 1) - 1
        let dayOfYear = calendar.ordinality(of: .day, in: .year, for: date) ?? 1
        let hour12 = hour % 12 == 0 ? 12 : hour % 12

        func pad(_ n: Int, _ width: Int, _ noPad: Bool, _ fill: Character = "0") -> String {
            let s = String(n)
            if noPad || s.count >= width { return s }
            return String(repeating: fill, count: width - s.count) + s
        }

        var out = ""
        var chars = Array(format)[...]
        while let ch = chars.popFirst() {
            guard ch == "%", let next = chars.first else {
                out.append(ch)
                continue
            }
            chars.removeFirst()
            var code = next
            var noPad = false
            if code == "-", let after = chars.first {
                noPad = true
                code = after
                chars.removeFirst()
            }
            switch code {
            case "d": out += pad(day, 2, noPad)
            case "e": out += pad(day, 2, noPad, " ")
            case "m": out += pad(month, 2, noPad)
            case "Y": out += String(year)
            case "y": out += pad(year % 100, 2, noPad)
            case "b", "h": out += String(months[month - 1].prefix(3))
            case "B": out += months[month - 1]
            case "a": out += String(weekdays[weekday].prefix(3))
            case "A": out += weekdays[weekday]
            case "w": out += String(weekday)
            case "u": out += String(weekday == 0 ? 7 : weekday)
            case "H": out += pad(hour, 2, noPad)
            case "I": out += pad(hour12, 2, noPad)
            case "M": out += pad(minute, 2, noPad)
            case "S": out += pad(second, 2, noPad)
            case "f": out += pad((c.nanosecond ?? 0) / 1000, 6, false)
            case "j": out += pad(dayOfYear, 3, noPad)
            case "p": out += hour < 12 ? "AM" : "PM"
            case "F": out += "\(year)-\(pad(month, 2, false))-\(pad(day, 2, false))"
            case "D": out += "\(pad(month, 2, false))/\(pad(day, 2, false))/\(pad(year % 100, 2, false))"
            case "T": out += "\(pad(hour, 2, false)):\(pad(minute, 2, false)):\(pad(second, 2, false))"
            case "R": out += "\(pad(hour, 2, false)):\(pad(minute, 2, false))"
            case "n": out += "\n"
            case "t": out += "\t"
            case "%": out += "%"
            default:
                // glibc leaves unknown conversions untouched.
                out += noPad ? "%-" : "%"
                out.append(code)
            }
        }
        return out
    }
}
