using System.IO.Compression;
using System.Text;

namespace VllmSharp.Engine.Tokenization;

/// <summary>
/// Unicode NFC written out, because the solution runs with InvariantGlobalization, where
/// <see cref="string.Normalize()"/> has no ICU and leaves text unchanged. Data (combining classes,
/// canonical decompositions, primary composites) comes from the embedded nfc-data.txt.gz, made
/// by Data/generate-nfc-data.py. Algorithm: full canonical decomposition (Hangul algorithmic),
/// canonical ordering, then canonical composition (UAX #15).
/// </summary>
public static class UnicodeNfc
{
    private const int SBase = 0xAC00, LBase = 0x1100, VBase = 0x1161, TBase = 0x11A7;
    private const int LCount = 19, VCount = 21, TCount = 28, NCount = VCount * TCount, SCount = LCount * NCount;

    private static readonly Lazy<Tables> s_tables = new(LoadTables);

    /// <summary>Returns the NFC form of <paramref name="text"/> (the same instance when already NFC-safe).</summary>
    public static string Normalize(string text) => Normalize(text, compose: true);

    /// <summary>Returns the NFD form of <paramref name="text"/>.</summary>
    public static string Decompose(string text) => Normalize(text, compose: false);

    private static string Normalize(string text, bool compose)
    {
        ArgumentNullException.ThrowIfNull(text);
        // Below U+0300 there are no combining marks, singletons or jamo: such text is already NFC
        // (not NFD: precomposed Latin-1 letters decompose).
        int first = 0;
        while (compose && first < text.Length && text[first] < 0x300)
        {
            first++;
        }

        if (compose && first == text.Length)
        {
            return text;
        }

        Tables tables = s_tables.Value;
        var codePoints = new List<int>(text.Length + 8);
        for (int i = 0; i < text.Length; i++)
        {
            int cp = text[i];
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                cp = char.ConvertToUtf32(text[i], text[++i]);
            }

            Decompose(cp, tables, codePoints);
        }

        Reorder(codePoints, tables);
        if (compose)
        {
            Compose(codePoints, tables);
        }

        var builder = new StringBuilder(codePoints.Count);
        foreach (int cp in codePoints)
        {
            builder.Append(char.ConvertFromUtf32(cp));
        }

        return builder.ToString();
    }

    private static void Decompose(int cp, Tables tables, List<int> output)
    {
        int s = cp - SBase;
        if (s >= 0 && s < SCount)
        {
            output.Add(LBase + (s / NCount));
            output.Add(VBase + (s % NCount / TCount));
            if (s % TCount != 0)
            {
                output.Add(TBase + (s % TCount));
            }

            return;
        }

        if (tables.Decompositions.TryGetValue(cp, out int[]? parts))
        {
            foreach (int part in parts)
            {
                Decompose(part, tables, output);
            }

            return;
        }

        output.Add(cp);
    }

    /// <summary>Stable sort of each run of non-starters by combining class.</summary>
    private static void Reorder(List<int> cps, Tables tables)
    {
        for (int i = 1; i < cps.Count; i++)
        {
            int ccc = Ccc(cps[i], tables);
            if (ccc == 0)
            {
                continue;
            }

            int j = i;
            while (j > 0 && Ccc(cps[j - 1], tables) > ccc)
            {
                (cps[j - 1], cps[j]) = (cps[j], cps[j - 1]);
                j--;
            }
        }
    }

    private static void Compose(List<int> cps, Tables tables)
    {
        if (cps.Count < 2)
        {
            return;
        }

        int starter = Ccc(cps[0], tables) == 0 ? 0 : -1;
        int lastCcc = starter == 0 ? 0 : 256;
        int write = 1;
        for (int read = 1; read < cps.Count; read++)
        {
            int cp = cps[read];
            int ccc = Ccc(cp, tables);
            bool blocked = starter < 0 || (write - 1 != starter && lastCcc >= ccc) || (write - 1 != starter && lastCcc == 0);
            if (!blocked && TryCompose(cps[starter], cp, tables, out int composed))
            {
                cps[starter] = composed;
                continue;
            }

            if (ccc == 0)
            {
                starter = write;
            }

            lastCcc = ccc;
            cps[write++] = cp;
        }

        cps.RemoveRange(write, cps.Count - write);
    }

    private static bool TryCompose(int first, int second, Tables tables, out int composed)
    {
        int l = first - LBase, v = second - VBase;
        if (l >= 0 && l < LCount && v >= 0 && v < VCount)
        {
            composed = SBase + (((l * VCount) + v) * TCount);
            return true;
        }

        int s = first - SBase, t = second - TBase;
        if (s >= 0 && s < SCount && s % TCount == 0 && t > 0 && t < TCount)
        {
            composed = first + t;
            return true;
        }

        return tables.Compositions.TryGetValue(((long)first << 21) | (uint)second, out composed);
    }

    private static int Ccc(int cp, Tables tables) => tables.CombiningClasses.TryGetValue(cp, out int ccc) ? ccc : 0;

    private static Tables LoadTables()
    {
        var tables = new Tables();
        using Stream stream = typeof(UnicodeNfc).Assembly.GetManifestResourceStream("VllmSharp.Engine.Tokenization.Data.nfc-data.txt.gz")
            ?? throw new InvalidOperationException("Embedded resource nfc-data.txt.gz is missing.");
        using var reader = new StreamReader(new GZipStream(stream, CompressionMode.Decompress), Encoding.ASCII);
        while (reader.ReadLine() is string line)
        {
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            string[] f = line.Split(' ');
            int cp = Convert.ToInt32(f[1], 16);
            if (f[0] == "C")
            {
                tables.CombiningClasses[cp] = int.Parse(f[2], System.Globalization.CultureInfo.InvariantCulture);
                continue;
            }

            int[] parts = new int[f.Length - 2];
            for (int i = 0; i < parts.Length; i++)
            {
                parts[i] = Convert.ToInt32(f[i + 2], 16);
            }

            tables.Decompositions[cp] = parts;
            if (f[0] == "P")
            {
                tables.Compositions[((long)parts[0] << 21) | (uint)parts[1]] = cp;
            }
        }

        return tables;
    }

    private sealed class Tables
    {
        public Dictionary<int, int> CombiningClasses { get; } = [];

        public Dictionary<int, int[]> Decompositions { get; } = [];

        public Dictionary<long, int> Compositions { get; } = [];
    }
}
