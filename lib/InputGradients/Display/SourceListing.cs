using System.Net;
using System.Text;
using InputGradients.Data;

namespace InputGradients.Display;

/// <summary>
/// One member (method, property or type) of the library's own source, read from its .cs file when the notebook runs,
/// so that the code a question asks for appears in the submission exactly as the library has it (it cannot drift
/// from what the notebook calls). Shown as HTML with simple colouring (keywords, strings, comments) in a
/// <c>&lt;pre&gt;</c> that wraps long lines, and as text/plain.
/// </summary>
/// <example><code>
/// SourceListing.Of("Attribution/Saliency.cs", "compute_saliency_maps")
/// SourceListing.Of("Layer/GradCam.cs", "GradCam.attribute")   // Type.member when the name alone is ambiguous
/// </code></example>
public sealed class SourceListing
{
    /// <summary>The file, relative to the library folder (as given to <see cref="Of"/>) or as given to <see cref="FromFile"/>.</summary>
    public string File { get; }
    public string Member { get; }
    /// <summary>1-based line numbers of the first and last line shown.</summary>
    public int FirstLine { get; }
    public int LastLine { get; }
    /// <summary>The member's text exactly as in the file: from its doc comment (or attributes, or signature) to the
    /// end of its body.</summary>
    public string Text { get; }

    SourceListing(string file, string member, int firstLine, int lastLine, string text)
    {
        File = file;
        Member = member;
        FirstLine = firstLine;
        LastLine = lastLine;
        Text = text;
    }

    /// <summary>The library's source folder, <c>lib/InputGradients</c> beside the repository's <c>data/</c>.</summary>
    public static string LibraryFolder()
    {
        var root = Path.GetDirectoryName(Path.GetFullPath(DataDirectory.Find()))!;
        var folder = Path.Combine(root, "lib", "InputGradients");
        if (!System.IO.File.Exists(Path.Combine(folder, "InputGradients.csproj")))
            throw new DirectoryNotFoundException(
                $"The library's source folder {folder} (beside the data folder {DataDirectory.Find()}) does not hold InputGradients.csproj: " +
                $"source listings need the repository checkout.");
        return folder;
    }

    /// <summary>A member of a file under <c>lib/InputGradients</c>, e.g. <c>Of("Attribution/Saliency.cs", "compute_saliency_maps")</c>.
    /// <paramref name="member"/> is a name (a type, if a type and a member share it), or <c>Type.name</c> to pick the member of one type.</summary>
    public static SourceListing Of(string relativePath, string member)
    {
        var full = Path.GetFullPath(Path.Combine(LibraryFolder(), relativePath));
        var listing = Extract(full, member);
        return new SourceListing("lib/InputGradients/" + relativePath.Replace('\\', '/'), member, listing.First, listing.Last, listing.Text);
    }

    /// <summary>A member of any C# file.</summary>
    public static SourceListing FromFile(string path, string member)
    {
        var listing = Extract(path, member);
        return new SourceListing(path, member, listing.First, listing.Last, listing.Text);
    }

    static (int First, int Last, string Text) Extract(string path, string member)
    {
        if (!System.IO.File.Exists(path)) throw new FileNotFoundException($"Source file not found: {path}", path);
        var source = System.IO.File.ReadAllText(path).ReplaceLineEndings("\n");
        var tokens = CSharpLexer.Lex(source);
        var parts = member.Split('.');
        if (parts.Length > 2 || parts.Any(p => p.Length == 0))
            throw new ArgumentException($"'{member}': give a member name or Type.member.", nameof(member));

        int from = 0, to = tokens.Count;
        string scopeNote = "";
        if (parts.Length == 2)
        {
            var type = Single(FindDeclarations(source, tokens, parts[0], 0, tokens.Count), path, parts[0], "");
            (from, to) = (type.BodyStart, type.End);
            scopeNote = $" in type {parts[0]}";
        }
        var found = Single(FindDeclarations(source, tokens, parts[^1], from, to), path, parts[^1], scopeNote);
        int start = ExtendUpwards(source, tokens, found.DeclarationToken);
        int end = tokens[found.End - 1].End;
        int firstLine = 1 + source.AsSpan(0, start).Count('\n');
        int lastLine = 1 + source.AsSpan(0, end).Count('\n');
        // Whole lines: the first line's indentation is kept, so the listing looks as it does in the file.
        int lineStart = source.LastIndexOf('\n', Math.Max(0, start - 1)) + 1;
        if (start == 0) lineStart = 0;
        return (firstLine, lastLine, Dedent(source[lineStart..end]));
    }

    sealed record Declaration(int DeclarationToken, int BodyStart, int End, bool IsType);

    static Declaration Single(List<Declaration> found, string path, string name, string scopeNote)
    {
        if (found.Count == 1) return found[0];
        // A type and a property of that type's name ("public GradCam GradCam { get; }"): the name means the type.
        if (found.Count(d => d.IsType) == 1) return found.Single(d => d.IsType);
        if (found.Count == 0)
            throw new KeyNotFoundException($"{path}: no declaration of '{name}'{scopeNote} (a method, property, field or type of that name).");
        throw new ArgumentException(
            $"{path}: '{name}'{scopeNote} is declared {found.Count} times; name it as Type.{name} to pick one.");
    }

    static readonly HashSet<string> s_typeKeywords = ["class", "struct", "record", "interface", "enum"];
    static readonly HashSet<string> s_notTypes = ["return", "new", "await", "throw", "else", "case", "goto", "yield", "using", "in", "is", "as", "out", "ref", "var", "when"];

    /// <summary>Declarations of <paramref name="name"/> among tokens [from, to): a type (<c>class name</c>) or a member whose
    /// name follows a type on a line that assigns nothing before it (<c>public static Tensor name(</c>, <c>Tensor name =&gt;</c>).</summary>
    static List<Declaration> FindDeclarations(string source, List<Token> tokens, string name, int from, int to)
    {
        var result = new List<Declaration>();
        for (int i = from; i < to; i++)
        {
            var t = tokens[i];
            if (t.Kind is not (TokenKind.Identifier or TokenKind.Keyword) || t.Text(source) != name) continue;
            int prev = PreviousCode(tokens, i);
            bool isType = prev >= 0 && tokens[prev].Kind == TokenKind.Keyword && s_typeKeywords.Contains(tokens[prev].Text(source));
            if (!isType && !IsMemberDeclaration(source, tokens, i)) continue;
            var (bodyStart, end) = Extent(source, tokens, i, to);
            result.Add(new Declaration(i, bodyStart, end, isType));
        }
        return result;
    }

    static int PreviousCode(List<Token> tokens, int i)
    {
        for (int j = i - 1; j >= 0; j--)
            if (tokens[j].Kind is not (TokenKind.Space or TokenKind.Comment)) return j;
        return -1;
    }

    static int NextCode(List<Token> tokens, int i)
    {
        for (int j = i + 1; j < tokens.Count; j++)
            if (tokens[j].Kind is not (TokenKind.Space or TokenKind.Comment)) return j;
        return tokens.Count;
    }

    static bool IsMemberDeclaration(string source, List<Token> tokens, int i)
    {
        // What follows the name: a parameter list (after optional type parameters), "=>", "{" (property), "=" or ";" (field).
        int next = NextCode(tokens, i);
        if (next < tokens.Count && tokens[next].Text(source) == "<")
        {
            int depth = 0;
            for (; next < tokens.Count; next++)
            {
                var s = tokens[next].Text(source);
                if (s == "<") depth++;
                else if (s == ">" && --depth == 0) break;
            }
            next = NextCode(tokens, next);
        }
        if (next >= tokens.Count) return false;
        var after = tokens[next].Text(source);
        if (after is not ("(" or "=>" or "{" or "=" or ";")) return false;

        // Before the name, on the same statement: a type (an identifier, keyword, '>', ']', '?' or ')' of a tuple type)
        // right before it, and nothing that makes this an expression (an '=', '.', '(' outside a tuple type, return...).
        int prev = PreviousCode(tokens, i);
        if (prev < 0) return false;
        var p = tokens[prev];
        var pt = p.Text(source);
        if (!(p.Kind == TokenKind.Identifier || (p.Kind == TokenKind.Keyword && !s_notTypes.Contains(pt)) || pt is ">" or "]" or "?" or ")"))
            return false;
        // Walk back to the start of the declaration: the previous ';', '{' or '}' at this level.
        int parens = 0;
        for (int j = prev; j >= 0; j--)
        {
            var tj = tokens[j];
            if (tj.Kind is TokenKind.Space or TokenKind.Comment) continue;
            var s = tj.Text(source);
            if (s == ")") parens++;
            else if (s == "(") { if (parens-- == 0) return false; }       // inside an argument list: a call, not a declaration
            else if (parens == 0 && s is ";" or "{" or "}") break;
            else if (parens == 0 && (s is "=" or "=>" or "." or "return" or "new" || (tj.Kind == TokenKind.Keyword && s_notTypes.Contains(s)))) return false;
            else if (parens == 0 && tj.Kind == TokenKind.Operator && s is not ("<" or ">" or "," or "[" or "]" or "?" or ":" or "*")) return false;
        }
        // "." inside a type ("nn.Module<Tensor, Tensor> name(") is fine, but not right before the name.
        return pt != ".";
    }

    /// <summary>Where the declaration starting at token <paramref name="i"/> ends: after its body's closing brace, or after
    /// the ';' of an expression body, field or abstract member. Also returns the token index just inside the body's '{'.</summary>
    static (int BodyStart, int End) Extent(string source, List<Token> tokens, int i, int to)
    {
        int parens = 0, braces = 0, bodyStart = -1;
        bool arrow = false;
        for (int j = i + 1; j < to; j++)
        {
            if (tokens[j].Kind is not TokenKind.Operator) continue;
            var s = tokens[j].Text(source);
            switch (s)
            {
                case "(" or "[": parens++; break;
                case ")" or "]": parens--; break;
                case "=>" or "=" when parens == 0 && braces == 0: arrow = true; break;
                case ";" when parens == 0 && braces == 0: return (j + 1, j + 1);
                case "{":
                    if (parens == 0 && braces == 0 && !arrow && bodyStart < 0) bodyStart = j + 1;
                    braces++;
                    break;
                case "}":
                    braces--;
                    if (braces < 0) throw new InvalidDataException("unbalanced braces after the declaration");
                    if (braces == 0 && parens == 0 && !arrow) return (bodyStart, j + 1);
                    break;
            }
        }
        throw new InvalidDataException($"the declaration at offset {tokens[i].Start} has no end (unbalanced braces?)");
    }

    /// <summary>The start of the declaration's line, moved up over the doc comment and attributes directly above it.</summary>
    static int ExtendUpwards(string source, List<Token> tokens, int declarationToken)
    {
        // First the start of the declaration itself: back over modifiers and type to the previous ';', '{', '}' or comment.
        int start = declarationToken;
        for (int j = declarationToken - 1; j >= 0; j--)
        {
            var t = tokens[j];
            if (t.Kind == TokenKind.Space) continue;
            if (t.Kind == TokenKind.Comment) break;
            var s = t.Text(source);
            if (s is ";" or "{" or "}") break;
            start = j;
        }
        int offset = tokens[start].Start;
        // Then whole lines above: doc comments (///) and attributes ([...]), nothing else.
        var lines = source[..LineStart(source, offset)].Split('\n');
        int keep = lines.Length - 1;   // the last element is the (empty) text after the final newline
        int i = keep - 1;
        while (i >= 0)
        {
            var l = lines[i].Trim();
            if (l.StartsWith("///", StringComparison.Ordinal) || (l.StartsWith('[') && l.EndsWith(']'))) i--;
            else break;
        }
        int firstKept = i + 1;
        int pos = 0;
        for (int k = 0; k < firstKept; k++) pos += lines[k].Length + 1;
        return Math.Min(pos, LineStart(source, offset));
    }

    static int LineStart(string source, int offset) => offset == 0 ? 0 : source.LastIndexOf('\n', offset - 1) + 1;

    /// <summary>Removes the indentation common to all non-empty lines.</summary>
    static string Dedent(string text)
    {
        var lines = text.Split('\n');
        int common = lines.Where(l => l.Trim().Length > 0).Select(l => l.Length - l.TrimStart(' ').Length).DefaultIfEmpty(0).Min();
        return string.Join('\n', lines.Select(l => l.Length >= common ? l[common..] : l.TrimStart(' ')));
    }

    /// <summary>"lib/…/File.cs, lines a–b" and the code.</summary>
    public override string ToString() => $"{File}, lines {FirstLine}-{LastLine}:\n{Text}";

    /// <summary>The listing as an HTML fragment: a caption and a wrapping <c>&lt;pre&gt;</c> with inline colours (no stylesheet
    /// needed, so it looks the same in VS Code, in saved notebooks and in the PDF).</summary>
    public string ToHtml()
    {
        var sb = new StringBuilder();
        sb.Append("<div class=\"source-listing\">");
        sb.Append("<div style=\"font-family: sans-serif; font-size: 0.85em; color: #555; margin: 0.2em 0;\">")
          .Append(WebUtility.HtmlEncode($"{File}, lines {FirstLine}–{LastLine}"))
          .Append("</div>");
        sb.Append("<pre style=\"white-space: pre-wrap; overflow-wrap: anywhere; word-break: break-word; margin: 0; padding: 0.4em 0.6em; " +
                  "background: #f7f7f7; border-left: 3px solid #4a7ab0; font-family: 'DejaVu Sans Mono', 'Liberation Mono', monospace; " +
                  "font-size: 0.85em; line-height: 1.35; font-variant-ligatures: none;\"><code>");
        foreach (var t in CSharpLexer.Lex(Text))
        {
            var text = Escape(t.Text(Text));
            var colour = t.Kind switch
            {
                TokenKind.Keyword => "#0000c0",
                TokenKind.String => "#a31515",
                TokenKind.Comment => "#2e7d32",
                TokenKind.Number => "#098658",
                _ => null,
            };
            if (colour is null) sb.Append(text);
            else sb.Append("<span style=\"color: ").Append(colour).Append(";\">").Append(text).Append("</span>");
        }
        sb.Append("</code></pre></div>");
        return sb.ToString();
    }

    /// <summary>&lt; &gt; &amp; and quotes as entities.</summary>
    static string Escape(string s) => s.Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;").Replace("\"", "&quot;");
}

/// <summary>Kinds of C# token, as far as listing and colouring need them.</summary>
public enum TokenKind { Space, Comment, String, Number, Keyword, Identifier, Operator }

public readonly record struct Token(TokenKind Kind, int Start, int Length)
{
    public int End => Start + Length;
    public string Text(string source) => source.Substring(Start, Length);
}

/// <summary>
/// A small C# lexer: enough to skip comments and every kind of string literal (verbatim, interpolated with nested
/// strings in its holes, raw) when matching braces, and to colour keywords, strings and comments. Not a parser.
/// </summary>
public static class CSharpLexer
{
    static readonly HashSet<string> s_keywords =
    [
        "abstract", "as", "base", "bool", "break", "byte", "case", "catch", "char", "checked", "class", "const", "continue",
        "decimal", "default", "delegate", "do", "double", "else", "enum", "event", "explicit", "extern", "false", "finally",
        "fixed", "float", "for", "foreach", "goto", "if", "implicit", "in", "int", "interface", "internal", "is", "lock",
        "long", "namespace", "new", "null", "object", "operator", "out", "override", "params", "private", "protected",
        "public", "readonly", "ref", "return", "sbyte", "sealed", "short", "sizeof", "stackalloc", "static", "string",
        "struct", "switch", "this", "throw", "true", "try", "typeof", "uint", "ulong", "unchecked", "unsafe", "ushort",
        "using", "virtual", "void", "volatile", "while",
        // contextual keywords that read as keywords in this code base
        "var", "record", "init", "required", "async", "await", "yield", "when", "where", "get", "set", "with", "and", "or", "not",
    ];

    static readonly string[] s_operators = ["=>", "==", "!=", "<=", ">=", "&&", "||", "??=", "??", "?.", "++", "--", "+=", "-=", "*=", "/=", "::"];

    public static List<Token> Lex(string s)
    {
        var tokens = new List<Token>();
        int i = 0;
        while (i < s.Length)
        {
            int start = i;
            char c = s[i];
            TokenKind kind;
            if (char.IsWhiteSpace(c))
            {
                while (i < s.Length && char.IsWhiteSpace(s[i])) i++;
                kind = TokenKind.Space;
            }
            else if (c == '/' && At(s, i + 1) == '/')
            {
                while (i < s.Length && s[i] != '\n') i++;
                kind = TokenKind.Comment;
            }
            else if (c == '/' && At(s, i + 1) == '*')
            {
                int e = s.IndexOf("*/", i + 2, StringComparison.Ordinal);
                i = e < 0 ? s.Length : e + 2;
                kind = TokenKind.Comment;
            }
            else if (c == '\'')
            {
                i++;
                while (i < s.Length && s[i] != '\'' && s[i] != '\n') i += s[i] == '\\' ? 2 : 1;
                i = Math.Min(s.Length, i + 1);
                kind = TokenKind.String;
            }
            else if (StringStart(s, i) is { } prefix)
            {
                i = StringEnd(s, i, prefix);
                kind = TokenKind.String;
            }
            else if (char.IsDigit(c))
            {
                while (i < s.Length && (char.IsLetterOrDigit(s[i]) || s[i] == '_' || (s[i] == '.' && char.IsDigit(At(s, i + 1))))) i++;
                kind = TokenKind.Number;
            }
            else if (char.IsLetter(c) || c == '_' || c == '@' && (char.IsLetter(At(s, i + 1)) || At(s, i + 1) == '_'))
            {
                i++;
                while (i < s.Length && (char.IsLetterOrDigit(s[i]) || s[i] == '_')) i++;
                kind = c != '@' && s_keywords.Contains(s[start..i]) ? TokenKind.Keyword : TokenKind.Identifier;
            }
            else
            {
                var op = s_operators.FirstOrDefault(o => string.CompareOrdinal(s, i, o, 0, o.Length) == 0);
                i += op?.Length ?? 1;
                kind = TokenKind.Operator;
            }
            tokens.Add(new Token(kind, start, i - start));
        }
        return tokens;
    }

    static char At(string s, int i) => i < s.Length ? s[i] : '\0';

    /// <summary>The prefix of a string literal starting at <paramref name="i"/> ("", "$", "@", "$@", "@$", "$$"...), or null.</summary>
    static string? StringStart(string s, int i)
    {
        int j = i;
        while (j < s.Length && (s[j] == '$' || s[j] == '@')) j++;
        if (j >= s.Length || s[j] != '"') return null;
        var prefix = s[i..j];
        return prefix.Count(ch => ch == '@') <= 1 ? prefix : null;
    }

    /// <summary>Index just after the string literal starting at <paramref name="i"/>.</summary>
    static int StringEnd(string s, int i, string prefix)
    {
        int j = i + prefix.Length;
        int quotes = 0;
        while (j + quotes < s.Length && s[j + quotes] == '"') quotes++;
        if (quotes >= 3)
        {
            // Raw string: ends at the same number of quotes (holes of $$""" … """ are not needed to find the end).
            var close = new string('"', quotes);
            int e = s.IndexOf(close, j + quotes, StringComparison.Ordinal);
            return e < 0 ? s.Length : e + quotes;
        }
        bool verbatim = prefix.Contains('@'), interpolated = prefix.Contains('$');
        j++;   // past the opening quote
        while (j < s.Length)
        {
            char c = s[j];
            if (verbatim && c == '"' && At(s, j + 1) == '"') { j += 2; continue; }
            if (c == '"') return j + 1;
            if (!verbatim && c == '\\') { j += 2; continue; }
            if (!verbatim && c == '\n') return j;   // unterminated: stop at the line end
            if (interpolated && c == '{')
            {
                if (At(s, j + 1) == '{') { j += 2; continue; }
                j = HoleEnd(s, j + 1);
                continue;
            }
            j++;
        }
        return s.Length;
    }

    /// <summary>Index just after the '}' closing an interpolation hole that starts at <paramref name="i"/>; nested strings,
    /// chars and braces inside it are skipped properly.</summary>
    static int HoleEnd(string s, int i)
    {
        int depth = 0;
        while (i < s.Length)
        {
            char c = s[i];
            if (StringStart(s, i) is { } prefix) { i = StringEnd(s, i, prefix); continue; }
            if (c == '\'')
            {
                i++;
                while (i < s.Length && s[i] != '\'' && s[i] != '\n') i += s[i] == '\\' ? 2 : 1;
                i++;
                continue;
            }
            if (c == '{') depth++;
            else if (c == '}')
            {
                if (depth == 0) return i + 1;
                depth--;
            }
            i++;
        }
        return s.Length;
    }
}
