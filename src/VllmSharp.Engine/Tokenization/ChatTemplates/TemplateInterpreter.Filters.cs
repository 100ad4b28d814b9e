using System.Globalization;

namespace VllmSharp.Engine.Tokenization.ChatTemplates;

// Filters, with exactly the operand types and arguments @huggingface/jinja accepts: a filter it
// rejects must fail here too (with a message naming it), or our output would silently differ.
internal sealed partial class TemplateInterpreter
{
    private object? ApplyFilter(object? operand, TemplateNode filter, TemplateScope scope) => filter switch
    {
        NameNode name => ApplyFilter(operand, name.Name, null, scope, filter),
        CallNode { Callee: NameNode name } call => ApplyFilter(operand, name.Name, call.Arguments, scope, filter),
        _ => throw Error(filter, "Unknown filter"),
    };

    private object? ApplyFilter(object? operand, string name, List<TemplateNode>? argNodes, TemplateScope scope, TemplateNode node)
    {
        if (name == "safe")
        {
            return operand;
        }

        if (argNodes is null)
        {
            return ApplySimpleFilter(operand, name, node);
        }

        (List<object?> args, OrderedDictionary<string, object?> kwargs) = EvaluateArguments(argNodes, scope);
        object? Arg(int index, string key, object? fallback) =>
            index >= 0 && index < args.Count ? args[index] : kwargs.TryGetValue(key, out object? v) ? v : fallback;

        switch (name)
        {
            case "tojson":
                {
                    object? indent = Arg(-1, "indent", null);
                    object? separators = Arg(-1, "separators", null);
                    (string, string)? seps = separators is List<object?> { Count: 2 } s && s[0] is string a && s[1] is string b ? (a, b) : null;
                    if (indent is not (null or long) || (separators is not null && seps is null))
                    {
                        throw Error(node, "tojson: indent must be an integer and separators a pair of strings");
                    }

                    return TemplateJson.Serialize(operand, (int?)(long?)indent, TemplateValues.IsTruthy(Arg(-1, "ensure_ascii", false)), TemplateValues.IsTruthy(Arg(-1, "sort_keys", false)), seps);
                }

            case "join":
                {
                    if (Arg(0, "separator", string.Empty) is not string separator)
                    {
                        throw Error(node, "join: separator must be a string");
                    }

                    return operand switch
                    {
                        string s => string.Join(separator, CodePoints(s)),
                        List<object?> list => JoinValues(list, separator),
                        _ => throw Error(node, $"Cannot apply filter \"join\" to type: {TemplateValues.TypeName(operand)}"),
                    };
                }

            case "int":
            case "float":
                {
                    object? fallback = Arg(0, "default", name == "int" ? 0L : 0.0);
                    return operand switch
                    {
                        string s => (name == "int" ? (object?)ParseJsInt(s) : ParseJsFloat(s)) ?? fallback,
                        long or double => operand,
                        bool b => name == "int" ? (b ? 1L : 0L) : (object)(b ? 1.0 : 0.0),
                        _ => throw Error(node, $"Cannot apply filter \"{name}\" to type: {TemplateValues.TypeName(operand)}"),
                    };
                }

            case "default":
                {
                    object? fallback = args.Count > 0 ? args[0] : string.Empty;
                    bool boolean = TemplateValues.IsTruthy(Arg(1, "boolean", false));
                    return operand is TemplateUndefined || (boolean && !TemplateValues.IsTruthy(operand)) ? fallback : operand;
                }
        }

        if (operand is List<object?> items)
        {
            switch (name)
            {
                case "sort":
                    {
                        bool reverse = TemplateValues.IsTruthy(Arg(0, "reverse", false));
                        bool caseSensitive = TemplateValues.IsTruthy(Arg(1, "case_sensitive", false));
                        object? attribute = Arg(2, "attribute", null);
                        string? path = attribute switch
                        {
                            null => null,
                            long l => l.ToString(CultureInfo.InvariantCulture),
                            string s => s,
                            _ => throw Error(node, "sort: attribute must be a string or integer"),
                        };
                        var sorted = new List<object?>(items);
                        StableSort(sorted, (x, y) =>
                        {
                            int c = TemplateValues.Compare(path is null ? x : TemplateBuiltins.GetAttributePath(x, path), path is null ? y : TemplateBuiltins.GetAttributePath(y, path), caseSensitive);
                            return reverse ? -c : c;
                        });
                        return sorted;
                    }

                case "selectattr":
                case "rejectattr":
                    {
                        bool select = name == "selectattr";
                        if (args.Count == 0 || args[0] is not string attr || (args.Count > 1 && args[1] is not string))
                        {
                            throw Error(node, $"arguments of `{name}` must be strings");
                        }

                        var result = new List<object?>();
                        foreach (object? item in items)
                        {
                            if (item is not (OrderedDictionary<string, object?> or TemplateNamespace))
                            {
                                throw Error(node, $"`{name}` can only be applied to array of objects");
                            }

                            // HF tests the attribute only when the key exists (a missing key never passes).
                            OrderedDictionary<string, object?> map = item is TemplateNamespace ns ? ns.Values : (OrderedDictionary<string, object?>)item;
                            bool pass = map.TryGetValue(attr, out object? value) && (args.Count > 1
                                ? TemplateBuiltins.Test((string)args[1]!, value, args.Count > 2 ? args[2] : TemplateUndefined.Instance) ?? throw Error(node, $"Unknown test: {args[1]}")
                                : TemplateValues.IsTruthy(value));
                            if (pass == select)
                            {
                                result.Add(item);
                            }
                        }

                        return result;
                    }

                case "map":
                    {
                        if (!kwargs.TryGetValue("attribute", out object? attr))
                        {
                            throw Error(node, "`map` expressions without `attribute` set are not supported");
                        }

                        if (attr is not string path)
                        {
                            throw Error(node, "map: attribute must be a string");
                        }

                        var result = new List<object?>(items.Count);
                        foreach (object? item in items)
                        {
                            if (item is not (OrderedDictionary<string, object?> or TemplateNamespace))
                            {
                                throw Error(node, "items in map must be an object");
                            }

                            object? value = TemplateBuiltins.GetAttributePath(item, path);
                            result.Add(value is TemplateUndefined ? (kwargs.TryGetValue("default", out object? d) ? d : TemplateUndefined.Instance) : value);
                        }

                        return result;
                    }
            }
        }
        else if (operand is string text)
        {
            switch (name)
            {
                case "indent":
                    {
                        if (Arg(0, "width", 4L) is not long width)
                        {
                            throw Error(node, "indent: width must be a number");
                        }

                        bool first = TemplateValues.IsTruthy(Arg(1, "first", false));
                        bool blank = TemplateValues.IsTruthy(Arg(2, "blank", false));
                        string[] lines = text.Split('\n');
                        string pad = new(' ', (int)width);
                        for (int i = 0; i < lines.Length; i++)
                        {
                            if (!((!first && i == 0) || (!blank && lines[i].Length == 0)))
                            {
                                lines[i] = pad + lines[i];
                            }
                        }

                        return string.Join('\n', lines);
                    }

                case "replace":
                    if (kwargs.Count > 0)
                    {
                        args.Add(new TemplateKwargs(kwargs));
                    }

                    return TemplateStringMethods.CallMethod(text, "replace", args);
            }
        }
        else if (operand is OrderedDictionary<string, object?> && TemplateBuiltins.GetMember(operand, name) is TemplateFunction method)
        {
            if (kwargs.Count > 0)
            {
                args.Add(new TemplateKwargs(kwargs));
            }

            return method(args, scope);
        }

        throw Error(node, $"unsupported filter '{name}' with arguments on {TemplateValues.TypeName(operand)}");
    }

    private object? ApplySimpleFilter(object? operand, string name, TemplateNode node)
    {
        if (name == "tojson")
        {
            return TemplateJson.Serialize(operand, null, false, false, null);
        }

        switch (operand)
        {
            case List<object?> list:
                switch (name)
                {
                    case "list": return list;
                    case "first": return list.Count > 0 ? list[0] : TemplateUndefined.Instance;
                    case "last": return list.Count > 0 ? list[^1] : TemplateUndefined.Instance;
                    case "length": return (long)list.Count;
                    case "reverse":
                        var reversed = new List<object?>(list);
                        reversed.Reverse();
                        return reversed;
                    case "sort":
                        var sorted = new List<object?>(list);
                        StableSort(sorted, (x, y) => TemplateValues.Compare(x, y, false));
                        return sorted;
                    case "join": return JoinValues(list, string.Empty);
                    case "string": return TemplateJson.Serialize(list, null, false, false, null, convertUndefinedToNull: false);
                    case "unique":
                        var unique = new List<object?>();
                        foreach (object? item in list)
                        {
                            if (!unique.Exists(u => TemplateValues.StrictEquals(u, item)))
                            {
                                unique.Add(item);
                            }
                        }

                        return unique;
                }

                break;
            case string s:
                switch (name)
                {
                    case "length" or "upper" or "lower" or "title" or "capitalize":
                        return TemplateStringMethods.CallMethod(s, name, []);
                    case "trim": return TemplateStringMethods.CallMethod(s, "strip", []);
                    case "indent":
                        string[] lines = s.Split('\n');
                        for (int i = 1; i < lines.Length; i++)
                        {
                            if (lines[i].Length > 0)
                            {
                                lines[i] = "    " + lines[i];
                            }
                        }

                        return string.Join('\n', lines);
                    case "join" or "string": return s;
                    case "int": return ParseJsInt(s) ?? 0L;
                    case "float": return ParseJsFloat(s) ?? 0.0;
                }

                break;
            case long or double:
                switch (name)
                {
                    case "abs": return operand is long l ? Math.Abs(l) : (object)Math.Abs((double)operand);
                    case "int": return operand is long ? operand : (long)Math.Floor((double)operand);
                    case "float": return TemplateValues.ToDouble(operand);
                    case "string": return TemplateValues.Display(operand);
                }

                break;
            case OrderedDictionary<string, object?> dict:
                switch (name)
                {
                    case "items": return TemplateBuiltins.Items(dict);
                    case "length": return (long)dict.Count;
                }

                object? builtin = TemplateBuiltins.GetMember(dict, name, builtinsOnly: true);
                if (builtin is TemplateFunction fn)
                {
                    return fn([], new TemplateScope(null));
                }

                if (builtin is not TemplateUndefined)
                {
                    return builtin;
                }

                break;
            case bool b:
                switch (name)
                {
                    case "bool": return b;
                    case "int": return b ? 1L : 0L;
                    case "float": return b ? 1.0 : 0.0;
                    case "string": return b ? "true" : "false";
                }

                break;
        }

        throw Error(node, $"unsupported filter '{name}' on {TemplateValues.TypeName(operand)}");
    }

    private static string JoinValues(List<object?> list, string separator)
    {
        var parts = new string[list.Count];
        for (int i = 0; i < list.Count; i++)
        {
            // Array.prototype.join: null/undefined become "", everything else String(value).
            parts[i] = list[i] is null or TemplateUndefined ? string.Empty : TemplateValues.JsString(list[i]);
        }

        return string.Join(separator, parts);
    }

    private static IEnumerable<string> CodePoints(string s)
    {
        for (int i = 0; i < s.Length; i += char.IsSurrogatePair(s, i) ? 2 : 1)
        {
            yield return s.Substring(i, char.IsSurrogatePair(s, i) ? 2 : 1);
        }
    }

    // JS Array.prototype.sort is stable; List.Sort is not.
    private static void StableSort(List<object?> items, Comparison<object?> comparison)
    {
        var indexed = new List<(object? Item, int Index)>(items.Count);
        for (int i = 0; i < items.Count; i++)
        {
            indexed.Add((items[i], i));
        }

        indexed.Sort((a, b) => comparison(a.Item, b.Item) is var c && c != 0 ? c : a.Index.CompareTo(b.Index));
        for (int i = 0; i < items.Count; i++)
        {
            items[i] = indexed[i].Item;
        }
    }

    // parseInt(s, 10): leading whitespace, sign, then digits; null when there are none.
    private static long? ParseJsInt(string s)
    {
        string t = s.TrimStart();
        int i = 0;
        if (i < t.Length && t[i] is '+' or '-')
        {
            i++;
        }

        int digits = i;
        while (i < t.Length && char.IsAsciiDigit(t[i]))
        {
            i++;
        }

        return i > digits ? long.Parse(t.AsSpan(0, i), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture) : null;
    }

    // parseFloat: the longest leading decimal number; null when there is none.
    private static double? ParseJsFloat(string s)
    {
        string t = s.TrimStart();
        for (int len = t.Length; len > 0; len--)
        {
            if (double.TryParse(t.AsSpan(0, len), NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent, CultureInfo.InvariantCulture, out double d))
            {
                return d;
            }
        }

        return null;
    }
}
