namespace VllmSharp.Runtime.Loading.Gguf;

/// <summary>
/// What a written GGUF model mostly holds (llama.cpp's <c>general.file_type</c>, LLAMA_FTYPE_*): the type of its
/// 2-D weights before the per-tensor rules of <see cref="GgufTensorTypePlan"/>. <see cref="Q4_K"/> follows
/// llama.cpp's Q4_K_M mix.
/// </summary>
public enum GgufFileType
{
    F32,
    F16,
    BF16,
    Q8_0,
    Q4_0,
    Q4_K,
    Q6_K,
}
