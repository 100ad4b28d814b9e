using System.Text;

namespace VllmSharp.Engine.Tokenization.ChatTemplates;

/// <summary>
/// The Python-style string methods @huggingface/jinja offers (strip, split, replace, title…),
/// with its JavaScript details: strip() ignores its argument and trims Unicode whitespace,
/// title() upper-cases after any non-ASCII-word character.
/// </summary>
internal static class TemplateStringMethods
{
    public static object? CallMethod(string s, string name, List<object?> args) => name switch
    {
        "upper" => s.ToUpperInvariant(),
        "lower" => s.ToLowerInvariant(),
        "strip" => TrimJs(s, true, true),
        "lstrip" => TrimJs(s, true, false),
        "rstrip" => TrimJs(s, false, true),
        "title" => Title(s),
        "capitalize" => s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s[1..],
        "length" => (long)s.Length,
        "startswith" => Affix(s, args, true),
        "endswith" => Affix(s, args, false),
        "split" => Split(s, args),
        "replace" => Replace(s, args),
        _ => throw new ChatTemplateException($"unsupported string method '{name}'"),
    };

    public static string TrimJs(string s, bool start, bool end)
    {
        int a = 0;
        int b = s.Length;
        while (start && a < b && TemplateLexer.IsJsWhitespace(s[a]))
        {
            a++;
        }

        while (end && b > a && TemplateLexer.IsJsWhitespace(s[b - 1]))
        {
            b--;
        }

        return s[a..b];
    }

    // JS /\b\w/g upper-cased: the first ASCII word character after a non-word character.
    private static string Title(string s)
    {
        var chars = s.ToCharArray();
        for (int i = 0; i < chars.Length; i++)
        {
            if (IsWord(chars[i]) && (i == 0 || !IsWord(chars[i - 1])))
            {
                chars[i] = char.ToUpperInvariant(chars[i]);
            }
        }

        return new string(chars);
    }

    private static bool IsWord(char c) => char.IsAsciiLetterOrDigit(c) || c == '_';

    private static bool Affix(string s, List<object?> args, bool prefix)
    {
        if (args.Count == 0)
        {
            throw new ChatTemplateException("startswith()/endswith() requires an argument");
        }

        bool Check(object? p) => p is string text
            ? (prefix ? s.StartsWith(text, StringComparison.Ordinal) : s.EndsWith(text, StringComparison.Ordinal))
            : throw new ChatTemplateException("startswith()/endswith() argument must be a string or tuple of strings");
        if (args[0] is List<object?> options)
        {
            foreach (object? option in options)
            {
                if (Check(option))
                {
                    return true;
                }
            }

            return false;
        }

        return Check(args[0]);
    }

    private static List<object?> Split(string s, List<object?> args)
    {
        object? sep = args.Count > 0 ? args[0] : null;
        long maxsplit = args.Count > 1 && args[1] is long m ? m : -1;
        var result = new List<object?>();
        if (sep is null)
        {
            string text = TrimJs(s, true, false);
            int i = 0;
            while (i < text.Length)
            {
                while (i < text.Length && TemplateLexer.IsJsWhitespace(text[i]))
                {
                    i++;
                }

                if (i >= text.Length)
                {
                    break;
                }

                if (maxsplit != -1 && result.Count >= maxsplit)
                {
                    result.Add(text[i..]);
                    break;
                }

                int start = i;
                while (i < text.Length && !TemplateLexer.IsJsWhitespace(text[i]))
                {
                    i++;
                }

                result.Add(text[start..i]);
            }

            return result;
        }

        if (sep is not string separator || separator.Length == 0)
        {
            throw new ChatTemplateException("split(): separator must be a non-empty string");
        }

        string[] parts = s.Split(separator);
        if (maxsplit != -1 && parts.Length > maxsplit)
        {
            for (int i = 0; i < maxsplit; i++)
            {
                result.Add(parts[i]);
            }

            result.Add(string.Join(separator, parts, (int)maxsplit, parts.Length - (int)maxsplit));
            return result;
        }

        foreach (string part in parts)
        {
            result.Add(part);
        }

        return result;
    }

    private static string Replace(string s, List<object?> args)
    {
        if (args.Count < 2 || args[0] is not string oldValue || args[1] is not string newValue)
        {
            throw new ChatTemplateException("replace() requires two string arguments");
        }

        object? countArg = args.Count > 2 ? (args[2] is TemplateKwargs kw ? kw.Values.GetValueOrDefault("count") : args[2]) : null;
        long count = countArg is long c ? c : -1;
        if (count == 0)
        {
            return s;
        }

        long remaining = count < 0 ? long.MaxValue : count;
        var sb = new StringBuilder();
        if (oldValue.Length == 0)
        {
            // Matches at every code point boundary, both ends included.
            for (int i = 0; i <= s.Length; i += i < s.Length && char.IsSurrogatePair(s, i) ? 2 : 1)
            {
                if (remaining-- > 0)
                {
                    sb.Append(newValue);
                }

                if (i < s.Length)
                {
                    sb.Append(s, i, char.IsSurrogatePair(s, i) ? 2 : 1);
                }
            }

            return sb.ToString();
        }

        int pos = 0;
        while (remaining > 0)
        {
            int found = s.IndexOf(oldValue, pos, StringComparison.Ordinal);
            if (found < 0)
            {
                break;
            }

            sb.Append(s, pos, found - pos).Append(newValue);
            pos = found + oldValue.Length;
            remaining--;
        }

        return sb.Append(s, pos, s.Length - pos).ToString();
    }
}
