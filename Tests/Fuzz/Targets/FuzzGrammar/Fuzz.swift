import SmolGrammar
import SmolJSON

/// The JSON Schema and GBNF compilers on any input, and the automaton they build walked with
/// the input's bytes over a small byte vocabulary: a grammar or a GrammarError, bounded work.
let vocabulary: TokenVocabulary = {
    var bytes: [[UInt8]?] = (0..<256).map { [UInt8($0)] }
    for s in ["{\"", "\":", "true", "null", "\"\n", "  ", "é", "\\u00"] { bytes.append(Array(s.utf8)) }
    return TokenVocabulary(bytes: bytes)
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzGrammar(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let input = UnsafeBufferPointer(start: data + 1, count: size - 1)
    // The grammar text ends at the first NUL; what follows is walked through the automaton.
    let split = input.firstIndex(of: 0) ?? input.count
    let text = UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: input[..<split]))
    let walk = Array(input[min(split + 1, input.count)...])
    let grammar: Grammar?
    if data[0] % 2 == 0 {
        var p = StrictJSONParser()
        p.maxDepth = 32
        guard let schema = try? p.parse(text) else { return 0 }
        grammar = try? JSONSchemaGrammar.compile(schema)
    } else {
        grammar = try? GBNFParser.parse(String(decoding: text, as: UTF8.self))
    }
    guard let grammar else { return 0 }
    var m = GrammarMatcher(GrammarAutomaton(grammar: grammar, vocabulary: vocabulary, maxStates: 2048))
    for b in walk.prefix(64) {
        _ = m.mask()
        if !m.accept([b]) { break }
    }
    return 0
}
