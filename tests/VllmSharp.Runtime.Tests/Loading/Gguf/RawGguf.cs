using System.Runtime.CompilerServices;
using System.Text;

namespace VllmSharp.Runtime.Tests.Loading.Gguf;

/// <summary>
/// Builds GGUF bytes by hand from the format description (little-endian: "GGUF", u32 version, u64 tensor count,
/// u64 kv count, kvs, tensor infos, aligned data) so the reader is tested against the format rather than against
/// our writer, and so that broken files can be made. Also finds ../shared/fixtures.
/// </summary>
internal static class RawGguf
{
    public static byte[] Build(uint version, ulong tensorCount, ulong kvCount, Action<BinaryWriter> body)
    {
        using var ms = new MemoryStream();
        using (var w = new BinaryWriter(ms, Encoding.UTF8, leaveOpen: true))
        {
            w.Write("GGUF"u8);
            w.Write(version);
            w.Write(tensorCount);
            w.Write(kvCount);
            body(w);
        }
        return ms.ToArray();
    }

    public static void Str(BinaryWriter w, string s)
    {
        byte[] b = Encoding.UTF8.GetBytes(s);
        w.Write((ulong)b.Length);
        w.Write(b);
    }

    /// <summary>Pads with zeros to a multiple of <paramref name="alignment"/> (the start of the data section).</summary>
    public static void Pad(BinaryWriter w, int alignment)
    {
        w.Flush();
        while (w.BaseStream.Position % alignment != 0) w.Write((byte)0);
    }

    /// <summary>
    /// v3, 2 kvs (general.architecture = "llama", llama.block_count u32 = 2), one F32 tensor "w" dims [4, 2]
    /// holding 0..7, data at 32-byte alignment. <paramref name="headerLength"/> is where the data section starts.
    /// </summary>
    public static byte[] Small(out int headerLength)
    {
        int dataStart = 0;
        byte[] bytes = Build(3, 1, 2, w =>
        {
            Str(w, "general.architecture"); w.Write(8u); Str(w, "llama");
            Str(w, "llama.block_count"); w.Write(4u); w.Write(2u);
            Str(w, "w"); w.Write(2u); w.Write(4UL); w.Write(2UL); w.Write(0u); w.Write(0UL);
            Pad(w, 32);
            dataStart = (int)w.BaseStream.Position;
            for (int i = 0; i < 8; i++) w.Write((float)i);
        });
        headerLength = dataStart;
        return bytes;
    }

    /// <summary>../shared/fixtures/gguf-vocab next to the repository, or null when absent.</summary>
    public static string? VocabFixtures([CallerFilePath] string thisFile = "")
    {
        // tests/VllmSharp.Runtime.Tests/Loading/Gguf/RawGguf.cs -> repository root is four levels up.
        string repo = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(thisFile)!, "..", "..", "..", ".."));
        string dir = Path.GetFullPath(Path.Combine(repo, "..", "shared", "fixtures", "gguf-vocab"));
        return Directory.Exists(dir) ? dir : null;
    }
}
