using System.Text.Json;

namespace VllmSharp.Runtime.Loading;

/// <summary>
/// The safetensors weights of a model folder: <c>model.safetensors</c>; or the shards listed in
/// <c>model.safetensors.index.json</c>'s "weight_map"; or, without either, every *.safetensors file in the
/// folder. All files are mapped read-only for the checkpoint's lifetime.
/// </summary>
public sealed class SafetensorsCheckpoint : IDisposable
{
    public const string SingleFileName = "model.safetensors";
    public const string IndexFileName = "model.safetensors.index.json";

    private readonly List<SafetensorsFile> _files;
    private readonly Dictionary<string, SafetensorsFile> _byTensor;

    private SafetensorsCheckpoint(string folder, string source, List<SafetensorsFile> files, Dictionary<string, SafetensorsFile> byTensor)
    {
        Folder = folder;
        Source = source;
        _files = files;
        _byTensor = byTensor;
    }

    public string Folder { get; }
    /// <summary>What names the tensors: the index file, the single file, or the folder (for messages).</summary>
    public string Source { get; }
    public IReadOnlyList<SafetensorsFile> Files => _files;
    public IReadOnlyCollection<string> TensorNames => _byTensor.Keys;
    public int TensorCount => _byTensor.Count;

    public bool Contains(string name) => _byTensor.ContainsKey(name);

    public bool TryGetFile(string name, out SafetensorsFile? file) => _byTensor.TryGetValue(name, out file);

    /// <summary>The tensor; throws <see cref="ModelLoadException"/> if it is missing or of an unsupported dtype.</summary>
    public TensorInfo GetTensor(string name) =>
        _byTensor.TryGetValue(name, out SafetensorsFile? file) ? file.GetTensor(name)
            : throw new ModelLoadException(Source, $"tensor '{name}' not found in the checkpoint ({_byTensor.Count} tensors in {_files.Count} file(s))");

    public static SafetensorsCheckpoint Open(string folder)
    {
        ArgumentNullException.ThrowIfNull(folder);
        if (!Directory.Exists(folder)) throw new ModelLoadException(folder, "model folder not found");
        string index = Path.Combine(folder, IndexFileName);
        if (File.Exists(index)) return OpenIndexed(folder, index);
        string single = Path.Combine(folder, SingleFileName);
        string[] paths = File.Exists(single) ? [single] : Directory.GetFiles(folder, "*.safetensors");
        if (paths.Length == 0) throw new ModelLoadException(folder, "no *.safetensors files in the model folder");
        Array.Sort(paths, StringComparer.Ordinal);

        var files = new List<SafetensorsFile>(paths.Length);
        try
        {
            var byTensor = new Dictionary<string, SafetensorsFile>(StringComparer.Ordinal);
            foreach (string p in paths)
            {
                SafetensorsFile f = SafetensorsFile.Open(p);
                files.Add(f);
                foreach (string name in f.TensorNames)
                    if (!byTensor.TryAdd(name, f))
                        throw new ModelLoadException(p, $"tensor '{name}' is also in {byTensor[name].Path}");
            }
            return new SafetensorsCheckpoint(folder, paths.Length == 1 ? paths[0] : folder, files, byTensor);
        }
        catch
        {
            foreach (SafetensorsFile f in files) f.Dispose();
            throw;
        }
    }

    private static SafetensorsCheckpoint OpenIndexed(string folder, string index)
    {
        Dictionary<string, string> weightMap = ReadWeightMap(index);
        var files = new List<SafetensorsFile>();
        try
        {
            var byFileName = new Dictionary<string, SafetensorsFile>(StringComparer.Ordinal);
            var byTensor = new Dictionary<string, SafetensorsFile>(StringComparer.Ordinal);
            foreach (var (tensor, fileName) in weightMap)
            {
                if (!byFileName.TryGetValue(fileName, out SafetensorsFile? file))
                {
                    string shard = Path.Combine(folder, fileName);
                    if (fileName.Contains('/') || fileName.Contains('\\') || !File.Exists(shard))
                        throw new ModelLoadException(index, $"weight_map names shard '{fileName}' (for tensor '{tensor}') but {shard} does not exist");
                    file = SafetensorsFile.Open(shard);
                    files.Add(file);
                    byFileName[fileName] = file;
                }
                if (!file.Contains(tensor))
                    throw new ModelLoadException(file.Path, $"tensor '{tensor}' is listed in {IndexFileName} but not in this shard");
                byTensor[tensor] = file;
            }
            return new SafetensorsCheckpoint(folder, index, files, byTensor);
        }
        catch
        {
            foreach (SafetensorsFile f in files) f.Dispose();
            throw;
        }
    }

    private static Dictionary<string, string> ReadWeightMap(string index)
    {
        try
        {
            using JsonDocument doc = JsonDocument.Parse(File.ReadAllBytes(index));
            if (doc.RootElement.ValueKind != JsonValueKind.Object
                || !doc.RootElement.TryGetProperty("weight_map", out JsonElement map) || map.ValueKind != JsonValueKind.Object)
                throw new ModelLoadException(index, "no \"weight_map\" object");
            var result = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (JsonProperty p in map.EnumerateObject())
                result[p.Name] = p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()!
                    : throw new ModelLoadException(index, $"weight_map entry for '{p.Name}' is not a file name");
            return result;
        }
        catch (JsonException e) { throw new ModelLoadException(index, "invalid JSON: " + e.Message.Split('\n')[0], e); }
        catch (IOException e) { throw new ModelLoadException(index, "cannot read: " + e.Message, e); }
    }

    public void Dispose()
    {
        foreach (SafetensorsFile f in _files) f.Dispose();
    }
}
