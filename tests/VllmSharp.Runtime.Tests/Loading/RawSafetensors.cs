using System.Text;

namespace VllmSharp.Runtime.Tests.Loading;

/// <summary>
/// Builds .safetensors bytes by hand (8-byte little-endian header length, JSON header, data) so that the reader is
/// tested against the format itself rather than against our own writer, and so that broken files can be made.
/// </summary>
internal static class RawSafetensors
{
    public static byte[] Build(string headerJson, byte[] data)
    {
        byte[] header = Encoding.UTF8.GetBytes(headerJson);
        var bytes = new byte[8 + header.Length + data.Length];
        BitConverter.TryWriteBytes(bytes.AsSpan(0, 8), (ulong)header.Length);
        header.CopyTo(bytes, 8);
        data.CopyTo(bytes, 8 + header.Length);
        return bytes;
    }

    /// <summary>Two F32 tensors: "a" [2, 3] = 0..5 and "b" [2] = 10, 11.</summary>
    public static byte[] TwoTensors(out float[] a, out float[] b)
    {
        a = [0, 1, 2, 3, 4, 5];
        b = [10, 11];
        var data = new byte[32];
        Buffer.BlockCopy(a, 0, data, 0, 24);
        Buffer.BlockCopy(b, 0, data, 24, 8);
        return Build("""
            {"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},"b":{"dtype":"F32","shape":[2],"data_offsets":[24,32]}}
            """, data);
    }
}
