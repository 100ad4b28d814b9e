/*
 * llamacpp-parity: runs llama.cpp on a list of token ids and writes the logits of EVERY position as raw
 * little-endian f32, row-major [n_tokens x n_vocab], so bench/llama-parity.sh can compare them with
 * VllmSharp's logits for the same ids (bench/VllmSharp.ParityDump). Written against llama.h's C API only.
 *
 *   llamacpp-parity MODEL.gguf TOKENS.txt OUT.bin [--threads N] [--kv f32|f16] [--flash-attn]
 *
 * TOKENS.txt holds whitespace-separated token ids; they are evaluated as ONE sequence in ONE llama_decode
 * call (positions 0..n-1), exactly as our side runs one prefill. The KV cache defaults to f32 because
 * VllmSharp keeps its KV cache in f32: an f16 cache on this side would add a rounding our side does not have
 * and blur what the comparison is for (the weights and matmuls). Flash attention is off by default for the
 * same reason (its CPU path rounds Q to f16). Stdout's last line: "n_tokens=<n> n_vocab=<v>".
 */
#include "llama.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void quiet_log(enum ggml_log_level level, const char * text, void * user_data) {
    (void) user_data;
    /* Warnings and errors, plus the loader's per-type tensor counts (the scripts report which types a file holds). */
    if (level >= GGML_LOG_LEVEL_WARN || strstr(text, "llama_model_loader: - type ") == text) fputs(text, stderr);
}

/* The default progress callback prints dots to stderr; the scripts want a clean log. */
static bool silent_progress(float progress, void * user_data) {
    (void) progress;
    (void) user_data;
    return true;
}

static int read_tokens(const char * path, llama_token ** out, int * count) {
    FILE * f = fopen(path, "r");
    if (!f) { fprintf(stderr, "cannot open token file %s\n", path); return 0; }
    int cap = 256, n = 0;
    llama_token * ids = malloc(sizeof(llama_token) * cap);
    long value;
    while (fscanf(f, "%ld", &value) == 1) {
        if (n == cap) { cap *= 2; ids = realloc(ids, sizeof(llama_token) * cap); }
        ids[n++] = (llama_token) value;
    }
    int bad = !feof(f);
    fclose(f);
    if (bad || n == 0) { fprintf(stderr, "%s: expected whitespace-separated integer token ids\n", path); free(ids); return 0; }
    *out = ids;
    *count = n;
    return 1;
}

int main(int argc, char ** argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: %s MODEL.gguf TOKENS.txt OUT.bin [--threads N] [--kv f32|f16] [--flash-attn]\n", argv[0]);
        return 2;
    }
    const char * model_path = argv[1], * tokens_path = argv[2], * out_path = argv[3];
    int threads = 2, flash = 0;
    enum ggml_type kv_type = GGML_TYPE_F32;
    for (int i = 4; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--kv") && i + 1 < argc) {
            const char * t = argv[++i];
            if (!strcmp(t, "f32")) kv_type = GGML_TYPE_F32;
            else if (!strcmp(t, "f16")) kv_type = GGML_TYPE_F16;
            else { fprintf(stderr, "--kv takes f32 or f16\n"); return 2; }
        } else if (!strcmp(argv[i], "--flash-attn")) flash = 1;
        else { fprintf(stderr, "unknown argument %s\n", argv[i]); return 2; }
    }

    llama_token * tokens = NULL;
    int n_tokens = 0;
    if (!read_tokens(tokens_path, &tokens, &n_tokens)) return 1;

    llama_log_set(quiet_log, NULL);
    llama_backend_init();

    struct llama_model_params mparams = llama_model_default_params();
    mparams.n_gpu_layers = 0;
    mparams.progress_callback = silent_progress;
    struct llama_model * model = llama_model_load_from_file(model_path, mparams);
    if (!model) { fprintf(stderr, "llama.cpp could not load %s\n", model_path); return 1; }
    const struct llama_vocab * vocab = llama_model_get_vocab(model);
    const int n_vocab = llama_vocab_n_tokens(vocab);
    for (int i = 0; i < n_tokens; i++) {
        if (tokens[i] < 0 || tokens[i] >= n_vocab) {
            fprintf(stderr, "token %d at index %d is outside the vocabulary (%d)\n", tokens[i], i, n_vocab);
            return 1;
        }
    }

    struct llama_context_params cparams = llama_context_default_params();
    cparams.n_ctx = (uint32_t) n_tokens;
    cparams.n_batch = (uint32_t) n_tokens;   /* one llama_decode call, one ubatch: logits for every row */
    cparams.n_ubatch = (uint32_t) n_tokens;
    cparams.n_seq_max = 1;
    cparams.n_threads = threads;
    cparams.n_threads_batch = threads;
    cparams.type_k = kv_type;
    cparams.type_v = kv_type;
    cparams.flash_attn_type = flash ? LLAMA_FLASH_ATTN_TYPE_ENABLED : LLAMA_FLASH_ATTN_TYPE_DISABLED;
    cparams.no_perf = true;
    struct llama_context * ctx = llama_init_from_model(model, cparams);
    if (!ctx) { fprintf(stderr, "llama.cpp could not create a context for %s\n", model_path); return 1; }

    struct llama_batch batch = llama_batch_init(n_tokens, 0, 1);
    for (int i = 0; i < n_tokens; i++) {
        batch.token[i] = tokens[i];
        batch.pos[i] = i;
        batch.n_seq_id[i] = 1;
        batch.seq_id[i][0] = 0;
        batch.logits[i] = 1;
    }
    batch.n_tokens = n_tokens;
    int rc = llama_decode(ctx, batch);
    if (rc != 0) { fprintf(stderr, "llama_decode failed with %d\n", rc); return 1; }

    FILE * out = fopen(out_path, "wb");
    if (!out) { fprintf(stderr, "cannot write %s\n", out_path); return 1; }
    for (int i = 0; i < n_tokens; i++) {
        const float * row = llama_get_logits_ith(ctx, i);
        if (!row || fwrite(row, sizeof(float), (size_t) n_vocab, out) != (size_t) n_vocab) {
            fprintf(stderr, "no logits for row %d\n", i);
            fclose(out);
            return 1;
        }
    }
    fclose(out);
    printf("n_tokens=%d n_vocab=%d\n", n_tokens, n_vocab);

    llama_batch_free(batch);
    llama_free(ctx);
    llama_model_free(model);
    llama_backend_free();
    free(tokens);
    return 0;
}
