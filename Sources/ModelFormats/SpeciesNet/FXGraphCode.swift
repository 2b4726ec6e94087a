/// The `forward` code a `torch.fx.GraphModule` carries, read as data. PyTorch `exec()`s this string when
/// it loads the file; we never do. onnx2torch's graphs (SpeciesNet's released classifier) generate
/// straight-line code of three statement kinds, and that is the whole language accepted here:
///
///     def forward(self, input_1):
///         a = getattr(self, "model/conv/Conv2D")(input_1);  input_1 = None
///         b = self.initializers.onnx_initializer_0
///         c = getattr(self, "model/add")(a, b);  a = b = None
///         return c
///
/// A call's callee is a submodule of `self` (by `getattr(self, "name")` or `self.name`, possibly nested);
/// its arguments are names defined before. `x = y = None` only frees values. Anything else (imports,
/// builtins, literals, operators, attribute calls on values, control flow) is refused with its line.
public struct FXGraphCode: Sendable, Equatable {
    public enum Statement: Sendable, Equatable {
        /// `target = <module path>(arguments...)`
        case call(target: String, module: [String], arguments: [String])
        /// `target = self.a.b` (an initializer or other attribute of a submodule, read as a value)
        case attribute(target: String, path: [String])
    }

    public let input: String
    public let statements: [Statement]
    public let output: String

    /// Generated code longer than this is refused before parsing (SpeciesNet's is about 1 MB).
    public static let maximumLength = 32 << 20

    public struct RefusedCode: Error, CustomStringConvertible {
        public let line: Int
        public let text: String
        public let reason: String
        public var description: String {
            let shown = text.count > 120 ? String(text.prefix(120)) + "..." : text
            return "the model's generated forward code is refused at line \(line) (`\(shown)`): \(reason); only onnx2torch's straight-line calls of submodules are accepted, and nothing in the file is executed"
        }
    }

    public init(parsing code: String) throws {
        guard code.utf8.count <= Self.maximumLength else {
            throw RefusedCode(line: 0, text: "", reason: "the code is longer than \(Self.maximumLength) bytes")
        }
        var input: String?
        var output: String?
        var statements: [Statement] = []
        var defined = Set<String>()
        for (index, rawLine) in code.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let number = index + 1
            let line = rawLine.trimmingTrailingWhitespace()
            if line.allSatisfy({ $0 == " " }) { continue }
            func refuse(_ reason: String) -> RefusedCode { RefusedCode(line: number, text: String(line), reason: reason) }
            if output != nil { throw refuse("code after the return statement") }
            var scanner = CodeScanner(line)
            if input == nil {
                // `def forward(self, NAME):` at column 0.
                guard scanner.take("def forward(self, "), let name = scanner.identifier(), scanner.take("):"), scanner.atEnd else {
                    throw refuse("expected `def forward(self, <input>):` first")
                }
                input = name
                defined.insert(name)
                continue
            }
            guard scanner.take("    "), !scanner.peekSpace else { throw refuse("expected a statement indented by four spaces") }
            if scanner.take("return ") {
                guard let name = scanner.identifier(), scanner.atEnd else { throw refuse("expected `return <name>`") }
                guard defined.contains(name) else { throw refuse("returns \(name), which is never defined") }
                output = name
                continue
            }
            guard let target = scanner.identifier(), scanner.take(" = ") else { throw refuse("expected `<name> = ...`") }
            if scanner.take("None") {
                // `a = b = None` on a line of its own frees values; nothing to do.
                guard scanner.atEnd else { throw refuse("unexpected text after None") }
                continue
            }
            var path: [String] = []
            if scanner.take("getattr(self, \"") {
                guard let name = scanner.quotedName(), scanner.take(")") else { throw refuse("expected getattr(self, \"<submodule>\")") }
                path = [name]
            } else if scanner.take("self.") {
                repeat {
                    guard let name = scanner.identifier() else { throw refuse("expected an attribute name after self.") }
                    path.append(name)
                } while scanner.take(".")
            } else {
                throw refuse("the right-hand side must be a submodule of self")
            }
            if scanner.take("(") {
                var arguments: [String] = []
                if !scanner.take(")") {
                    repeat {
                        guard let argument = scanner.identifier() else { throw refuse("call arguments must be names") }
                        guard defined.contains(argument) else { throw refuse("\(argument) is used before it is defined") }
                        arguments.append(argument)
                    } while scanner.take(", ")
                    guard scanner.take(")") else { throw refuse("expected `)` after the arguments") }
                }
                statements.append(.call(target: target, module: path, arguments: arguments))
            } else {
                statements.append(.attribute(target: target, path: path))
            }
            // Optional `;  a = b = None` cleanup.
            if scanner.take(";  ") {
                repeat {
                    guard scanner.identifier() != nil, scanner.take(" = ") else { throw refuse("only `<name> = ... = None` may follow `;`") }
                } while !scanner.take("None")
            }
            guard scanner.atEnd else { throw refuse("unexpected text after the statement") }
            guard !defined.contains(target) else { throw refuse("\(target) is assigned twice") }
            defined.insert(target)
        }
        guard let input else { throw RefusedCode(line: 0, text: "", reason: "there is no `def forward`") }
        guard let output else { throw RefusedCode(line: 0, text: "", reason: "the code never returns") }
        self.input = input
        self.statements = statements
        self.output = output
    }
}

/// A cursor over one line of generated code.
private struct CodeScanner {
    private let characters: [Character]
    private var position = 0

    init(_ line: Substring) { characters = Array(line) }

    var atEnd: Bool { position == characters.count }
    var peekSpace: Bool { position < characters.count && characters[position] == " " }

    mutating func take(_ literal: String) -> Bool {
        let expected = Array(literal)
        guard position + expected.count <= characters.count, Array(characters[position..<position + expected.count]) == expected else { return false }
        position += expected.count
        return true
    }

    /// A Python identifier of ASCII letters, digits and underscores.
    mutating func identifier() -> String? {
        let start = position
        while position < characters.count, let ascii = characters[position].asciiValue,
              ascii == 95 || (65...90).contains(ascii) || (97...122).contains(ascii) || (position > start && (48...57).contains(ascii)) {
            position += 1
        }
        return position > start ? String(characters[start..<position]) : nil
    }

    /// The rest of a double-quoted module name up to and including its closing quote; names hold no
    /// quotes or backslashes (onnx2torch uses ONNX node names: letters, digits, `/`, `_`, `-`, `.`, `:`).
    mutating func quotedName() -> String? {
        let start = position
        while position < characters.count, characters[position] != "\"" {
            guard let ascii = characters[position].asciiValue, ascii >= 32, ascii != 92 else { return nil }
            position += 1
        }
        guard position < characters.count, position > start else { return nil }
        let name = String(characters[start..<position])
        position += 1
        return name
    }
}

private extension Substring {
    func trimmingTrailingWhitespace() -> Substring {
        var end = endIndex
        while end > startIndex, let last = self[index(before: end)].asciiValue, last == 32 || last == 9 || last == 13 {
            end = index(before: end)
        }
        return self[startIndex..<end]
    }
}
