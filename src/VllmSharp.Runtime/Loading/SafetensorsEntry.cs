namespace VllmSharp.Runtime.Loading;

/// <summary>A tensor declared to <see cref="SafetensorsWriter"/>: name, safetensors dtype name ("BF16", "I8"…), shape.</summary>
public sealed record SafetensorsEntry(string Name, string DType, long[] Shape)
{
    public long ByteLength
    {
        get
        {
            long n = SafetensorsDTypes.SizeOf(DType);
            if (n == 0) throw new ArgumentException($"unknown safetensors dtype '{DType}'");
            foreach (long d in Shape) n = checked(n * d);
            return n;
        }
    }
}
