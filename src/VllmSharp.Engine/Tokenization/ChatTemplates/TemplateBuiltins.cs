using System.Globalization;
using System.Text;

namespace VllmSharp.Engine.Tokenization.ChatTemplates;

/// <summary>
/// Attributes and methods of values (<c>s.strip()</c>, <c>d.items()</c>, <c>xs.length</c>),
/// the <c>is</c> tests and the global functions, as @huggingface/jinja defines them.
/// </summary>
internal static class TemplateBuiltins
{
    private static readonly string[] s_monthsShort = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    private static readonly string[] s_monthsLong = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];

    /// <summary>Fills the root scope with HF's globals.</summary>
    public static void AddGlobals(TemplateScope scope, Func<DateTime> now)
    {
        scope.Set("false", false);
        scope.Set("true", true);
        scope.Set("none", null);
        scope.Set("False", false);
        scope.Set("True", true);
        scope.Set("None", null);
        scope.Set("raise_exception", (TemplateFunction)((args, _) =>
            throw new ChatTemplateException(args.Count > 0 ? TemplateValues.Display(args[0]) : "raise_exception called")));
        scope.Set("range", (TemplateFunction)((args, _) => Range(args)));
        scope.Set("strftime_now", (TemplateFunction)((args, _) => Strftime(now(), args.Count > 0 && args[0] is string f ? f : string.Empty)));
        scope.Set("namespace", (TemplateFunction)((args, _) => Namespace(args)));
    }

    private static List<object?> Range(List<object?> args)
    {
        long start = 0;
        long stop;
        long step = 1;
        if (args.Count == 1)
        {
            stop = AsLong(args[0]);
        }
        else
        {
            start = AsLong(args[0]);
            stop = AsLong(args[1]);
            step = args.Count > 2 ? AsLong(args[2]) : 1;
        }

        if (step == 0)
        {
            throw new ChatTemplateException("range() step must not be zero");
        }

        var result = new List<object?>();
        for (long i = start; step > 0 ? i < stop : i > stop; i += step)
        {
            result.Add(i);
        }

        return result;
    }

    private static long AsLong(object? value) => value is long l ? l : (long)TemplateValues.ToDouble(value);

    private static TemplateNamespace Namespace(List<object?> args)
    {
        var values = new OrderedDictionary<string, object?>();
        foreach (object? arg in args)
        {
            OrderedDictionary<string, object?> source = arg switch
            {
                TemplateKwargs kw => kw.Values,
                OrderedDictionary<string, object?> dict => dict,
                _ => throw new ChatTemplateException("namespace() expects a mapping or keyword arguments"),
            };
            foreach (KeyValuePair<string, object?> pair in source)
            {
                values[pair.Key] = pair.Value;
            }
        }

        return new TemplateNamespace(values);
    }

    /// <summary>HF's strftime subset (%Y %m %d %b %B %H %M %%) in the en-US locale.</summary>
    public static string Strftime(DateTime date, string format)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < format.Length; i++)
        {
            if (format[i] != '%' || i + 1 >= format.Length || "YmdbBHM%".IndexOf(format[i + 1]) < 0)
            {
                sb.Append(format[i]);
                continue;
            }

            char f = format[++i];
            sb.Append(f switch
            {
                'Y' => date.Year.ToString(CultureInfo.InvariantCulture),
                'm' => date.Month.ToString("00", CultureInfo.InvariantCulture),
                'd' => date.Day.ToString("00", CultureInfo.InvariantCulture),
                'b' => s_monthsShort[date.Month - 1],
                'B' => s_monthsLong[date.Month - 1],
                'H' => date.Hour.ToString("00", CultureInfo.InvariantCulture),
                'M' => date.Minute.ToString("00", CultureInfo.InvariantCulture),
                _ => "%",
            });
        }

        return sb.ToString();
    }

    /// <summary><c>target.property</c> / <c>target[property]</c>; undefined when absent.</summary>
    public static object? GetMember(object? target, object? property, bool builtinsOnly = false)
    {
        switch (target)
        {
            case OrderedDictionary<string, object?> dict:
                if (property is not string key)
                {
                    throw new ChatTemplateException($"Cannot access property with non-string: got {TemplateValues.TypeName(property)}");
                }

                if (!builtinsOnly && dict.TryGetValue(key, out object? value))
                {
                    return value;
                }

                return DictMethod(dict, key);
            case TemplateNamespace ns:
                if (property is not string nsKey)
                {
                    throw new ChatTemplateException($"Cannot access property with non-string: got {TemplateValues.TypeName(property)}");
                }

                return ns.Values.TryGetValue(nsKey, out object? nsValue) ? nsValue : TemplateUndefined.Instance;
            case List<object?> list:
                if (property is long index)
                {
                    long i = index < 0 ? list.Count + index : index;
                    return i >= 0 && i < list.Count ? list[(int)i] : TemplateUndefined.Instance;
                }

                return property is string name
                    ? name == "length" ? (long)list.Count : TemplateUndefined.Instance
                    : throw new ChatTemplateException($"Cannot access property with non-string/non-number: got {TemplateValues.TypeName(property)}");
            case string s:
                if (property is long charIndex)
                {
                    long i = charIndex < 0 ? s.Length + charIndex : charIndex;
                    return i >= 0 && i < s.Length ? s[(int)i].ToString() : TemplateUndefined.Instance;
                }

                if (property is not string method)
                {
                    throw new ChatTemplateException($"Cannot access property with non-string/non-number: got {TemplateValues.TypeName(property)}");
                }

                if (method == "length")
                {
                    return (long)s.Length;
                }

                return StringMethods.Contains(method) ? (TemplateFunction)((args, _) => TemplateStringMethods.CallMethod(s, method, args)) : TemplateUndefined.Instance;
            default:
                if (property is not string)
                {
                    throw new ChatTemplateException($"Cannot access property with non-string: got {TemplateValues.TypeName(property)}");
                }

                return TemplateUndefined.Instance;
        }
    }

    private static readonly HashSet<string> StringMethods =
        ["upper", "lower", "strip", "title", "capitalize", "rstrip", "lstrip", "startswith", "endswith", "split", "replace"];

    private static object? DictMethod(OrderedDictionary<string, object?> dict, string name) => name switch
    {
        "get" => (TemplateFunction)((args, _) =>
        {
            if (args.Count == 0 || args[0] is not string key)
            {
                throw new ChatTemplateException("Object key must be a string");
            }

            return dict.TryGetValue(key, out object? v) ? v : args.Count > 1 ? args[1] : null;
        }),
        "items" => (TemplateFunction)((_, _) => Items(dict)),
        "keys" => (TemplateFunction)((_, _) => new List<object?>(dict.Keys)),
        "values" => (TemplateFunction)((_, _) => new List<object?>(dict.Values)),
        "dictsort" => (TemplateFunction)((args, _) => DictSort(dict, args)),
        _ => TemplateUndefined.Instance,
    };

    public static List<object?> Items(OrderedDictionary<string, object?> dict)
    {
        var items = new List<object?>(dict.Count);
        foreach (KeyValuePair<string, object?> pair in dict)
        {
            items.Add(new List<object?> { pair.Key, pair.Value });
        }

        return items;
    }

    private static List<object?> DictSort(OrderedDictionary<string, object?> dict, List<object?> args)
    {
        OrderedDictionary<string, object?> kwargs = args.Count > 0 && args[^1] is TemplateKwargs kw ? kw.Values : new();
        int positional = args.Count - (args.Count > 0 && args[^1] is TemplateKwargs ? 1 : 0);
        object? Arg(int i, string key, object? fallback) => i < positional ? args[i] : kwargs.TryGetValue(key, out object? v) ? v : fallback;
        bool caseSensitive = TemplateValues.IsTruthy(Arg(0, "case_sensitive", false));
        int by = Arg(1, "by", "key") is "value" ? 1 : 0;
        bool reverse = TemplateValues.IsTruthy(Arg(2, "reverse", false));
        List<object?> items = Items(dict);
        var indexed = new List<(List<object?> Pair, int Index)>();
        for (int i = 0; i < items.Count; i++)
        {
            indexed.Add(((List<object?>)items[i]!, i));
        }

        indexed.Sort((a, b) =>
        {
            int c = TemplateValues.Compare(a.Pair[by], b.Pair[by], caseSensitive);
            c = reverse ? -c : c;
            return c != 0 ? c : a.Index.CompareTo(b.Index);
        });
        return indexed.ConvertAll(x => (object?)x.Pair);
    }

    /// <summary>HF's getAttributeValue: a dotted path through objects and list indices.</summary>
    public static object? GetAttributePath(object? item, string path)
    {
        object? value = item;
        foreach (string part in path.Split('.'))
        {
            value = value switch
            {
                OrderedDictionary<string, object?> dict => dict.TryGetValue(part, out object? v) ? v : TemplateUndefined.Instance,
                TemplateNamespace ns => ns.Values.TryGetValue(part, out object? v) ? v : TemplateUndefined.Instance,
                List<object?> list => int.TryParse(part, NumberStyles.Integer, CultureInfo.InvariantCulture, out int i) && i >= 0 && i < list.Count ? list[i] : TemplateUndefined.Instance,
                _ => TemplateUndefined.Instance,
            };
            if (value is TemplateUndefined)
            {
                return value;
            }
        }

        return value;
    }

    /// <summary>The <c>is</c> tests; null when the test is unknown.</summary>
    public static bool? Test(string name, object? operand, object? argument) => name switch
    {
        "boolean" => operand is bool,
        "callable" => operand is TemplateFunction,
        "odd" => operand is long l ? l % 2 != 0 : throw new ChatTemplateException($"cannot odd on {TemplateValues.TypeName(operand)}"),
        "even" => operand is long l ? l % 2 == 0 : throw new ChatTemplateException($"cannot even on {TemplateValues.TypeName(operand)}"),
        "false" => operand is false,
        "true" => operand is true,
        "none" => operand is null,
        "string" => operand is string,
        "number" => operand is long or double,
        "integer" => operand is long,
        "iterable" => operand is List<object?> or string,
        "mapping" => operand is OrderedDictionary<string, object?>,
        "sequence" => operand is List<object?> or OrderedDictionary<string, object?> or string,
        "lower" => operand is string s && s == s.ToLowerInvariant(),
        "upper" => operand is string s && s == s.ToUpperInvariant(),
        "defined" => operand is not TemplateUndefined,
        "undefined" => operand is TemplateUndefined,
        "equalto" or "eq" => TemplateValues.StrictEquals(operand, argument),
        _ => null,
    };
}
