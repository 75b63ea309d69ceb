import SmolJSON

/// The strict JSON parser on any bytes: a value or a JSONParseError, and what parses
/// re-serializes to text that parses to the same value.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSON(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var p = StrictJSONParser()
    p.maxDepth = 64
    guard let v = try? p.parse(UnsafeRawBufferPointer(start: data, count: size)) else { return 0 }
    // Serializing is a fixed point: what it writes parses and serializes to the same text
    // (5.0 writes as 5, so values compare as text, not as int or double).
    let text = v.serialized
    guard let again = try? JSONValue(parsing: text) else { fatalError("serialized JSON does not parse: \(text.prefix(200))") }
    if again.serialized != text { fatalError("serializing is not a fixed point: \(text.prefix(200))") }
    return 0
}
