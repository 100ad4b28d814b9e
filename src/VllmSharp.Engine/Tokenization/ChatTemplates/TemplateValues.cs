using System.Globalization;
using System.Text.Json;

namespace VllmSharp.Engine.Tokenization.ChatTemplates;

/// <summary>Jinja's "undefined" (a missing variable or attribute), distinct from none (C# null).</summary>
internal sealed class TemplateUndefined
{
    public static readonly TemplateUndefined Instance = new();

    private TemplateUndefined()
    {
    }
}

/// <summary>The object <c>namespace()</c> returns: the only object a <c>set</c> may assign attributes on.</summary>
internal sealed class TemplateNamespace(OrderedDictionary<string, object?> values)
{
    public OrderedDictionary<string, object?> Values { get; } = values;
}

/// <summary>A tuple literal's value: an array to most operations, but HF refuses to unpack it in a for loop or print it as JSON.</summary>
internal sealed class TemplateTuple : List<object?>
{
    public TemplateTuple(int capacity)
        : base(capacity)
    {
    }
}

/// <summary>Keyword arguments, passed as the last positional argument the way @huggingface/jinja does.</summary>
internal sealed class TemplateKwargs(OrderedDictionary<string, object?> values)
{
    public OrderedDictionary<string, object?> Values { get; } = values;
}

/// <summary>A callable value: global function, bound method or macro. <paramref name="scope"/> is the caller's scope.</summary>
internal delegate object? TemplateFunction(List<object?> args, TemplateScope scope);

/// <summary>
/// Runtime values are plain objects: null (none), <see cref="TemplateUndefined"/>, string, bool,
/// long (HF's IntegerValue), double (FloatValue), List (array/tuple), OrderedDictionary (object),
/// <see cref="TemplateNamespace"/> and <see cref="TemplateFunction"/>. These helpers give them the
/// semantics of @huggingface/jinja, which follow JavaScript where it differs from Python.
/// </summary>
internal static class TemplateValues
{
    public static bool IsUndefined(object? value) => value is TemplateUndefined;

    public static bool IsNumber(object? value) => value is long or double;

    public static string TypeName(object? value) => value switch
    {
        null => "NullValue",
        TemplateUndefined => "UndefinedValue",
        string => "StringValue",
        bool => "BooleanValue",
        long => "IntegerValue",
        double => "FloatValue",
        TemplateTuple => "TupleValue",
        List<object?> => "ArrayValue",
        OrderedDictionary<string, object?> => "ObjectValue",
        TemplateNamespace => "NamespaceValue",
        TemplateKwargs => "KeywordArgumentsValue",
        TemplateFunction => "FunctionValue",
        _ => value.GetType().Name,
    };

    public static bool IsTruthy(object? value) => value switch
    {
        null or TemplateUndefined => false,
        bool b => b,
        string s => s.Length > 0,
        long l => l != 0,
        double d => d != 0 && !double.IsNaN(d),
        List<object?> list => list.Count > 0,
        OrderedDictionary<string, object?> dict => dict.Count > 0,
        _ => true,
    };

    public static double ToDouble(object? value) => value switch
    {
        long l => l,
        double d => d,
        bool b => b ? 1 : 0,
        _ => throw new ChatTemplateException($"Expected a number, got {TypeName(value)}"),
    };

    /// <summary>What <c>{{ value }}</c> prints (RuntimeValue.toString in HF).</summary>
    public static string Display(object? value) => value switch
    {
        string s => s,
        double d => FloatDisplay(d),
        List<object?> or OrderedDictionary<string, object?> or TemplateNamespace => TemplateJson.Serialize(value, null, false, false, null, convertUndefinedToNull: false),
        _ => JsString(value),
    };

    /// <summary>JavaScript's String(x) of the raw JS value underneath a runtime value (used by ~, + and join).</summary>
    public static string JsString(object? value) => value switch
    {
        null => "null",
        TemplateUndefined => "undefined",
        string s => s,
        bool b => b ? "true" : "false",
        long l => l.ToString(CultureInfo.InvariantCulture),
        double d => JsNumber(d),
        List<object?> list => string.Join(",", list.ConvertAll(x => x is null || x is TemplateUndefined ? string.Empty : "[object Object]")),
        TemplateFunction => "function",
        _ => "[object Map]",
    };

    public static string FloatDisplay(double d)
    {
        if (d == 0 && double.IsNegative(d))
        {
            return "-0.0";
        }

        return d % 1 == 0 && Math.Abs(d) < 1e21 ? d.ToString("F1", CultureInfo.InvariantCulture) : JsNumber(d);
    }

    /// <summary>JavaScript's Number.prototype.toString for a double (shortest round-trip digits).</summary>
    public static string JsNumber(double d)
    {
        if (double.IsNaN(d))
        {
            return "NaN";
        }

        if (double.IsInfinity(d))
        {
            return d > 0 ? "Infinity" : "-Infinity";
        }

        if (d == 0)
        {
            return "0";
        }

        string r = d.ToString("R", CultureInfo.InvariantCulture);
        int e = r.IndexOf('E');
        if (e < 0)
        {
            return r;
        }

        // .NET writes 1E-07 / 1E+21; JS writes 1e-7 / 1e+21, and uses plain digits for 1e-7 < |d| < 1e21.
        string mantissa = r[..e];
        int exponent = int.Parse(r.AsSpan(e + 1), CultureInfo.InvariantCulture);
        if (exponent >= -7 && exponent < 21)
        {
            return ((decimal)d).ToString(CultureInfo.InvariantCulture);
        }

        return mantissa + "e" + (exponent > 0 ? "+" : "-") + Math.Abs(exponent).ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>JavaScript's loose <c>==</c> on the raw values (HF's == and !=).</summary>
    public static bool LooseEquals(object? a, object? b)
    {
        if (a is null or TemplateUndefined || b is null or TemplateUndefined)
        {
            return a is null or TemplateUndefined && b is null or TemplateUndefined;
        }

        if (a is string sa && b is string sb)
        {
            return string.Equals(sa, sb, StringComparison.Ordinal);
        }

        if (a is long or double or bool or string && b is long or double or bool or string)
        {
            return JsToNumber(a) == JsToNumber(b);
        }

        return ReferenceEquals(a, b);
    }

    /// <summary>JavaScript's strict <c>===</c> on the raw values (HF's <c>in</c> on arrays, equalto).</summary>
    public static bool StrictEquals(object? a, object? b) => (a, b) switch
    {
        (null, null) => true,
        (TemplateUndefined, TemplateUndefined) => true,
        (string x, string y) => string.Equals(x, y, StringComparison.Ordinal),
        (long or double, long or double) => ToDouble(a) == ToDouble(b),
        (bool x, bool y) => x == y,
        _ => ReferenceEquals(a, b),
    };

    private static double JsToNumber(object value) => value switch
    {
        string s => s.Trim().Length == 0 ? 0 : double.TryParse(s.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out double d) ? d : double.NaN,
        _ => ToDouble(value),
    };

    /// <summary>HF's compareRuntimeValues (sort, dictsort).</summary>
    public static int Compare(object? a, object? b, bool caseSensitive)
    {
        if (a is null && b is null || a is TemplateUndefined && b is TemplateUndefined)
        {
            return 0;
        }

        if (a is long or double or bool && b is long or double or bool)
        {
            return ToDouble(a).CompareTo(ToDouble(b));
        }

        if (a is string x && b is string y)
        {
            if (!caseSensitive)
            {
                x = x.ToLowerInvariant();
                y = y.ToLowerInvariant();
            }

            return Math.Sign(string.CompareOrdinal(x, y));
        }

        throw new ChatTemplateException($"Cannot compare {TypeName(a)} with {TypeName(b)}");
    }

    /// <summary>Converts a caller's context value to a runtime value (HF's convertToRuntimeValues).</summary>
    public static object? FromHost(object? value) => value switch
    {
        null => null,
        string or bool or long or TemplateUndefined or TemplateFunction => value,
        double d => FromNumber(d),
        int i => (long)i,
        short s => (long)s,
        byte b => (long)b,
        uint u => (long)u,
        float f => FromNumber(f),
        decimal m => FromNumber((double)m),
        JsonElement json => FromJson(json),
        System.Text.Json.Nodes.JsonNode node => FromJson(JsonSerializer.SerializeToElement(node)),
        IReadOnlyDictionary<string, object?> dict => FromDictionary(dict),
        System.Collections.IDictionary dict => FromLegacyDictionary(dict),
        System.Collections.IEnumerable list => FromList(list),
        _ => throw new ChatTemplateException($"Unsupported context value type {value.GetType().FullName}"),
    };

    // JS has one number type: an integral value is an IntegerValue whatever the host type.
    private static object FromNumber(double d) => d % 1 == 0 && Math.Abs(d) < 9.007199254740992e15 ? (long)d : (object)d;

    private static OrderedDictionary<string, object?> FromDictionary(IReadOnlyDictionary<string, object?> dict)
    {
        var result = new OrderedDictionary<string, object?>(dict.Count);
        foreach (KeyValuePair<string, object?> pair in dict)
        {
            result[pair.Key] = FromHost(pair.Value);
        }

        return result;
    }

    private static OrderedDictionary<string, object?> FromLegacyDictionary(System.Collections.IDictionary dict)
    {
        var result = new OrderedDictionary<string, object?>(dict.Count);
        foreach (System.Collections.DictionaryEntry pair in dict)
        {
            result[pair.Key.ToString() ?? string.Empty] = FromHost(pair.Value);
        }

        return result;
    }

    private static List<object?> FromList(System.Collections.IEnumerable items)
    {
        var result = new List<object?>();
        foreach (object? item in items)
        {
            result.Add(FromHost(item));
        }

        return result;
    }

    private static object? FromJson(JsonElement json)
    {
        switch (json.ValueKind)
        {
            case JsonValueKind.String:
                return json.GetString();
            case JsonValueKind.True:
                return true;
            case JsonValueKind.False:
                return false;
            case JsonValueKind.Null:
                return null;
            case JsonValueKind.Undefined:
                return TemplateUndefined.Instance;
            case JsonValueKind.Number:
                return json.TryGetInt64(out long l) ? l : FromNumber(json.GetDouble());
            case JsonValueKind.Array:
                var list = new List<object?>(json.GetArrayLength());
                foreach (JsonElement item in json.EnumerateArray())
                {
                    list.Add(FromJson(item));
                }

                return list;
            default:
                var dict = new OrderedDictionary<string, object?>();
                foreach (JsonProperty property in json.EnumerateObject())
                {
                    dict[property.Name] = FromJson(property.Value);
                }

                return dict;
        }
    }
}
