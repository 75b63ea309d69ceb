import SmolTemplates

/// A chat template from any text: parsed and rendered with a small conversation under tight
/// sandbox limits, so every input ends quickly with output or a TemplateError.
let limits: RenderLimits = {
    var l = RenderLimits()
    l.maxSteps = 200_000
    l.maxOutputBytes = 1 << 20
    l.maxCollectionLength = 10_000
    l.maxRange = 10_000
    return l
}()

let variables: [String: TemplateValue] = [
    "messages": [["role": "system", "content": "Be brief."], ["role": "user", "content": "Hi <b>"],
                 ["role": "assistant", "content": "Hello", "tool_calls": [["function": ["name": "f", "arguments": ["a": 1]]]]],
                 ["role": "tool", "content": "42"]],
    "tools": [["type": "function", "function": ["name": "f", "parameters": ["type": "object"]]]],
    "add_generation_prompt": true, "bos_token": "<s>", "eos_token": "</s>", "enable_thinking": false,
]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTemplate(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let source = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    guard let t = try? Template(source, limits: limits) else { return 0 }
    _ = try? t.render(variables)
    return 0
}
