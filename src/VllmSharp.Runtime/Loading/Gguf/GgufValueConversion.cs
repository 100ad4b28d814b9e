namespace VllmSharp.Runtime.Loading.Gguf;

/// <summary>
/// Maps CLR types to GGUF value types (for the writer and for messages) and converts stored values to the type a
/// caller asks for. Only lossless conversions are made: any integer to any integer type whose range holds the value
/// (GGUF writers differ on u32 vs i32 for the same key), Float32 to double, and the same element-wise for arrays.
/// </summary>
internal static class GgufValueConversion
{
    /// <summary>The GGUF type a scalar CLR value is written as, or null if it has none.</summary>
    public static GgufValueType? ScalarType(Type t) =>
        t == typeof(byte) ? GgufValueType.UInt8
        : t == typeof(sbyte) ? GgufValueType.Int8
        : t == typeof(ushort) ? GgufValueType.UInt16
        : t == typeof(short) ? GgufValueType.Int16
        : t == typeof(uint) ? GgufValueType.UInt32
        : t == typeof(int) ? GgufValueType.Int32
        : t == typeof(float) ? GgufValueType.Float32
        : t == typeof(bool) ? GgufValueType.Bool
        : t == typeof(string) ? GgufValueType.String
        : t == typeof(ulong) ? GgufValueType.UInt64
        : t == typeof(long) ? GgufValueType.Int64
        : t == typeof(double) ? GgufValueType.Float64
        : t == typeof(object) ? GgufValueType.Array // object[] holds nested arrays
        : null;

    /// <summary>"UInt32", "Array of String", ... for messages.</summary>
    public static string Describe(Type t)
    {
        if (t.IsArray) return "Array of " + (t == typeof(object[]) ? "Array" : Describe(t.GetElementType()!));
        return ScalarType(t)?.ToString() ?? t.Name;
    }

    public static string Describe(object value) => value switch
    {
        Array a => $"{Describe(value.GetType())} (length {a.Length})",
        string s => $"String (\"{(s.Length <= 40 ? s : s[..40] + "...")}\")",
        _ => $"{Describe(value.GetType())} ({value})",
    };

    public static bool TryConvert(object value, Type target, out object? result)
    {
        if (target.IsInstanceOfType(value)) { result = value; return true; }
        if (target.IsArray && value is Array source && target != typeof(object[]) && !source.GetType().GetElementType()!.IsArray)
        {
            Type element = target.GetElementType()!;
            var converted = Array.CreateInstance(element, source.Length);
            for (int i = 0; i < source.Length; i++)
            {
                if (!TryConvertScalar(source.GetValue(i)!, element, out object? item)) { result = null; return false; }
                converted.SetValue(item, i);
            }
            result = converted;
            return true;
        }
        return TryConvertScalar(value, target, out result);
    }

    private static bool TryConvertScalar(object value, Type target, out object? result)
    {
        result = null;
        if (target.IsInstanceOfType(value)) { result = value; return true; }
        if (target == typeof(double) && value is float f) { result = (double)f; return true; }
        if (!TryInteger(value, out Int128 v)) return false;
        result = target == typeof(byte) ? (v >= byte.MinValue && v <= byte.MaxValue ? (byte)v : null)
            : target == typeof(sbyte) ? (v >= sbyte.MinValue && v <= sbyte.MaxValue ? (sbyte)v : null)
            : target == typeof(ushort) ? (v >= ushort.MinValue && v <= ushort.MaxValue ? (ushort)v : null)
            : target == typeof(short) ? (v >= short.MinValue && v <= short.MaxValue ? (short)v : null)
            : target == typeof(uint) ? (v >= uint.MinValue && v <= uint.MaxValue ? (uint)v : null)
            : target == typeof(int) ? (v >= int.MinValue && v <= int.MaxValue ? (int)v : null)
            : target == typeof(ulong) ? (v >= ulong.MinValue && v <= ulong.MaxValue ? (ulong)v : null)
            : target == typeof(long) ? (v >= long.MinValue && v <= long.MaxValue ? (long)v : null)
            : (object?)null;
        return result is not null;
    }

    private static bool TryInteger(object value, out Int128 v)
    {
        switch (value)
        {
            case byte x: v = x; return true;
            case sbyte x: v = x; return true;
            case ushort x: v = x; return true;
            case short x: v = x; return true;
            case uint x: v = x; return true;
            case int x: v = x; return true;
            case ulong x: v = x; return true;
            case long x: v = x; return true;
            default: v = 0; return false;
        }
    }
}
