using System.Globalization;
using System.Text;

namespace VllmSharp.Engine.Tokenization.ChatTemplates;

/// <summary>
/// The <c>tojson</c> filter as @huggingface/jinja writes it: JSON.stringify escaping (non-ASCII
/// kept unless ensure_ascii), Python's default separators (", " and ": ", or "," and ": " with
/// an indent), optional sort_keys.
/// </summary>
internal static class TemplateJson
{
    public static string Serialize(object? value, int? indent, bool ensureAscii, bool sortKeys, (string Item, string Key)? separators, bool convertUndefinedToNull = true)
    {
        (string item, string key) = separators ?? (indent is > 0 ? (",", ": ") : (", ", ": "));
        var sb = new StringBuilder();
        Write(sb, value, indent is > 0 ? indent.Value : 0, ensureAscii, sortKeys, item, key, 0, convertUndefinedToNull);
        return sb.ToString();
    }

    private static void Write(StringBuilder sb, object? value, int indent, bool ascii, bool sortKeys, string itemSep, string keySep, int depth, bool undefinedToNull)
    {
        switch (value)
        {
            case null:
                sb.Append("null");
                return;
            case TemplateUndefined:
                sb.Append(undefinedToNull ? "null" : "undefined");
                return;
            case bool b:
                sb.Append(b ? "true" : "false");
                return;
            case long l:
                sb.Append(l.ToString(CultureInfo.InvariantCulture));
                return;
            case double d:
                sb.Append(double.IsFinite(d) ? TemplateValues.JsNumber(d) : "null");
                return;
            case string s:
                WriteString(sb, s, ascii);
                return;
            case TemplateTuple:
                throw new ChatTemplateException("Cannot convert to JSON: TupleValue");
            case List<object?> list:
                if (list.Count == 0)
                {
                    sb.Append("[]");
                    return;
                }

                sb.Append('[');
                for (int i = 0; i < list.Count; i++)
                {
                    if (i > 0)
                    {
                        sb.Append(itemSep);
                    }

                    NewLine(sb, indent, depth + 1);
                    Write(sb, list[i], indent, ascii, sortKeys, itemSep, keySep, depth + 1, undefinedToNull);
                }

                NewLine(sb, indent, depth);
                sb.Append(']');
                return;
            case OrderedDictionary<string, object?> dict:
                WriteObject(sb, dict, indent, ascii, sortKeys, itemSep, keySep, depth, undefinedToNull);
                return;
            case TemplateNamespace ns:
                WriteObject(sb, ns.Values, indent, ascii, sortKeys, itemSep, keySep, depth, undefinedToNull);
                return;
            case TemplateKwargs kw:
                WriteObject(sb, kw.Values, indent, ascii, sortKeys, itemSep, keySep, depth, undefinedToNull);
                return;
            default:
                throw new ChatTemplateException($"Cannot convert to JSON: {TemplateValues.TypeName(value)}");
        }
    }

    private static void WriteObject(StringBuilder sb, OrderedDictionary<string, object?> dict, int indent, bool ascii, bool sortKeys, string itemSep, string keySep, int depth, bool undefinedToNull)
    {
        if (dict.Count == 0)
        {
            sb.Append("{}");
            return;
        }

        var keys = new List<string>(dict.Keys);
        if (sortKeys)
        {
            keys.Sort(LocaleCompare);
        }

        sb.Append('{');
        for (int i = 0; i < keys.Count; i++)
        {
            if (i > 0)
            {
                sb.Append(itemSep);
            }

            NewLine(sb, indent, depth + 1);
            WriteString(sb, keys[i], ascii);
            sb.Append(keySep);
            Write(sb, dict[keys[i]], indent, ascii, sortKeys, itemSep, keySep, depth + 1, undefinedToNull);
        }

        NewLine(sb, indent, depth);
        sb.Append('}');
    }

    // ICU root collation order of ASCII punctuation and symbols (all sort before digits and letters).
    private const string PunctuationOrder = "\t\n\r _-,;:!?.'\"()[]{}@*/\\&#%`^+<=>|~$";

    /// <summary>
    /// Approximates String.prototype.localeCompare (ICU root collation), which HF's sort_keys uses:
    /// punctuation, then digits, then letters compared case-insensitively; on a tie lower case
    /// sorts before upper case. (The project runs with invariant globalization, so no ICU here.)
    /// </summary>
    internal static int LocaleCompare(string a, string b)
    {
        int n = Math.Min(a.Length, b.Length);
        for (int i = 0; i < n; i++)
        {
            int c = PrimaryWeight(a[i]).CompareTo(PrimaryWeight(b[i]));
            if (c != 0)
            {
                return c;
            }
        }

        if (a.Length != b.Length)
        {
            return a.Length.CompareTo(b.Length);
        }

        for (int i = 0; i < n; i++)
        {
            if (a[i] != b[i] && char.IsAsciiLetterLower(a[i]) != char.IsAsciiLetterLower(b[i]))
            {
                return char.IsAsciiLetterLower(a[i]) ? -1 : 1;
            }
        }

        return string.CompareOrdinal(a, b);
    }

    private static int PrimaryWeight(char c)
    {
        if (char.IsAsciiLetter(c))
        {
            return 1000 + char.ToLowerInvariant(c);
        }

        if (char.IsAsciiDigit(c))
        {
            return 500 + c;
        }

        int p = PunctuationOrder.IndexOf(c);
        return p >= 0 ? p : 2000 + c;
    }

    private static void NewLine(StringBuilder sb, int indent, int depth)
    {
        if (indent > 0)
        {
            sb.Append('\n').Append(' ', indent * depth);
        }
    }

    /// <summary>JSON.stringify's string escaping (lone surrogates escaped as \udXXX, as JS does).</summary>
    public static void WriteString(StringBuilder sb, string s, bool ascii)
    {
        sb.Append('"');
        for (int i = 0; i < s.Length; i++)
        {
            char c = s[i];
            switch (c)
            {
                case '"':
                    sb.Append("\\\"");
                    continue;
                case '\\':
                    sb.Append("\\\\");
                    continue;
                case '\n':
                    sb.Append("\\n");
                    continue;
                case '\r':
                    sb.Append("\\r");
                    continue;
                case '\t':
                    sb.Append("\\t");
                    continue;
                case '\b':
                    sb.Append("\\b");
                    continue;
                case '\f':
                    sb.Append("\\f");
                    continue;
            }

            bool loneSurrogate = char.IsHighSurrogate(c) ? i + 1 >= s.Length || !char.IsLowSurrogate(s[i + 1])
                : char.IsLowSurrogate(c) && (i == 0 || !char.IsHighSurrogate(s[i - 1]));
            if (c < 0x20 || loneSurrogate || (ascii && c >= 0x7f))
            {
                sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
            }
            else
            {
                sb.Append(c);
            }
        }

        sb.Append('"');
    }
}
