import ArgumentParser
import Foundation
import SmolRuntime
import SmolServer

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve the model over OpenAI-, Anthropic- and Ollama-compatible HTTP APIs.",
        discussion: """
        Endpoints: GET /v1/models; POST /v1/chat/completions (OpenAI, streamed or not, tools, \
        reasoning_content, response_format json_object / json_schema, grammar, logprobs, n), \
        /v1/completions and /v1/responses; POST /v1/messages and /v1/messages/count_tokens \
        (Anthropic); Ollama's GET /api/tags, /api/ps, /api/version and POST /api/show, /api/chat, \
        /api/generate. Point a client at it with OPENAI_BASE_URL=http://127.0.0.1:PORT/v1, \
        ANTHROPIC_BASE_URL=http://127.0.0.1:PORT or OLLAMA_HOST=http://127.0.0.1:PORT. Up to \
        --parallel requests generate together; every conversation's KV stays in a prefix cache, so \
        the next turn (or a sub-agent sharing a system prompt) prefills only what is new. With one \
        model served, any model name is answered by it (--strict-model-names to refuse others).
        """)

    @OptionGroup var modelOptions: ModelOptions

    @Option(help: "Address to listen on. Anything but a loopback address needs --api-key (or --insecure).")
    var host = "127.0.0.1"
    @Option(help: "Port to listen on; 0 picks a free one (printed when ready).")
    var port = 8080
    @Option(name: .customLong("api-key"), help: "Require this key as 'Authorization: Bearer KEY' or 'x-api-key: KEY'. Also read from $SMOL_API_KEY.")
    var apiKey: String?
    @Flag(help: "Allow listening on a non-loopback address without an API key.")
    var insecure = false
    @Option(name: .customLong("model-id"), help: "Model name clients send (default: from the folder name, e.g. smollm3:3b).")
    var modelId: String?
    @Option(name: .customLong("max-queue"), help: "Requests allowed to wait for a free slot; more get 429 with Retry-After.")
    var maxQueue = 16
    @Option(help: "Requests generated together (continuous batching: one weight read per step for all of them); more wait in the queue.")
    var parallel = 4
    @Option(name: .customLong("cache-memory"), help: "Memory for the KV cache of running and earlier conversations, e.g. 4G or 512M (a plain number is MiB). Least recently used conversations are dropped beyond it. Default: a quarter of RAM, at most 8G.")
    var cacheMemory: String?
    @Option(name: .customLong("keep-alive"), help: "Seconds of silence after which a stream gets a keep-alive (SSE comment; Anthropic ping) while it waits or prefills; 0: none.")
    var keepAlive = 5.0
    @Option(name: .customLong("prompt-cache"), help: "Directory for the KV of long prompts (blocks of 256 tokens), kept across restarts: a restarted server maps a known prefix back instead of prefilling it. Files are checked on load; bad or foreign ones are ignored with a warning.")
    var promptCache: String?
    @Option(name: .customLong("prompt-cache-size"), help: "Disk budget of --prompt-cache, e.g. 10G (default); least recently used blocks are deleted beyond it.")
    var promptCacheSize = "10G"
    @Option(help: "Context length in tokens (KV cache size). Default: the model's maximum, at most 8192.")
    var context: Int?
    @Option(name: .customLong("max-body-bytes"), help: "Largest request body accepted (413 beyond).")
    var maxBodyBytes = 32 << 20
    @Option(name: .customLong("max-image-bytes"), help: "Largest decoded image in a data URI.")
    var maxImageBytes = 20 << 20
    @Flag(name: .customLong("no-constrain-tool-calls"), help: "Let the model write tool calls freely. By default the text after a tool-call opener (SmolLM3's <tool_call>) is constrained to a call of one of the request's tools with arguments valid for its schema (a request overrides this with constrain_tool_calls).")
    var noConstrainToolCalls = false
    @Flag(name: .customLong("strict-model-names"), help: "Answer only requests that name this model (its --model-id or folder name); others get 404 listing the id. By default any model name is answered by the one model served, and responses carry its real id.")
    var strictModelNames = false
    @Flag(name: .shortAndLong, help: "Print loading progress.")
    var verbose = false

    func run() async throws {
        var options = ServerOptions()
        options.host = host
        options.port = port
        options.apiKey = apiKey ?? ProcessInfo.processInfo.environment["SMOL_API_KEY"].flatMap { $0.isEmpty ? nil : $0 }
        options.insecure = insecure
        options.modelId = modelId
        options.maxQueue = maxQueue
        options.parallel = parallel
        options.keepAliveSeconds = keepAlive
        options.promptCacheDirectory = promptCache
        do { options.promptCacheBytes = try ServerOptions.parseBytes(promptCacheSize, flag: "--prompt-cache-size") } catch { throw CLIError("\(error)") }
        if let m = cacheMemory {
            do { options.cacheMemory = try ServerOptions.parseBytes(m, flag: "--cache-memory") } catch { throw CLIError("\(error)") }
        }
        options.contextLength = context
        options.constrainToolCalls = !noConstrainToolCalls
        options.strictModelNames = strictModelNames
        guard maxBodyBytes > 0, maxImageBytes > 0 else { throw CLIError("--max-body-bytes and --max-image-bytes must be positive") }
        options.limits.maxBodyBytes = maxBodyBytes
        options.limits.maxImageBytes = maxImageBytes
        do { try options.validate() } catch { throw CLIError("\(error)") }
        let model = try modelOptions.load(verbose: verbose)
        let server = try ChatServer(model: model, options: options)
        let id = server.modelId
        let ctx = server.contextLength, par = server.parallel, cacheMiB = server.cacheMemory >> 20
        try await server.run { host, port in
            let shown = host.contains(":") ? "[\(host)]" : host
            printErr("smol serve: model \(id), context \(ctx) tokens, \(par) parallel, KV cache budget \(cacheMiB) MiB")
            printErr("smol serve: listening on http://\(shown):\(port)")
        }
    }
}
