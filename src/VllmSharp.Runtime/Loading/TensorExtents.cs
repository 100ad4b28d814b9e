namespace VllmSharp.Runtime.Loading;

/// <summary>Checks shared by the checkpoint readers on where tensors sit in a file.</summary>
internal static class TensorExtents
{
    /// <summary>Throws when two tensors' byte ranges [Begin, End) overlap (a corrupt or hostile header).</summary>
    public static void CheckNoOverlap(string path, (long Begin, long End, string Name)[] extents)
    {
        Array.Sort(extents, (a, b) => a.Begin != b.Begin ? a.Begin.CompareTo(b.Begin) : a.End.CompareTo(b.End));
        for (int i = 1; i < extents.Length; i++)
            if (extents[i].Begin < extents[i - 1].End)
                throw new ModelLoadException(path, $"tensors '{extents[i - 1].Name}' and '{extents[i].Name}' overlap in the file");
    }
}
