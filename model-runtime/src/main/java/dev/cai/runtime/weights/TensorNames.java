package dev.cai.runtime.weights;

/** Canonical (Hugging Face Llama) tensor names used inside the runtime and in the project's checkpoints. */
public final class TensorNames {
  public static final String EMBED_TOKENS = "model.embed_tokens.weight";
  public static final String FINAL_NORM = "model.norm.weight";
  public static final String LM_HEAD = "lm_head.weight";

  private TensorNames() {}

  public static String layer(int i, String suffix) {
    return "model.layers." + i + "." + suffix;
  }

  public static String qProj(int i) { return layer(i, "self_attn.q_proj.weight"); }
  public static String kProj(int i) { return layer(i, "self_attn.k_proj.weight"); }
  public static String vProj(int i) { return layer(i, "self_attn.v_proj.weight"); }
  public static String oProj(int i) { return layer(i, "self_attn.o_proj.weight"); }
  public static String gateProj(int i) { return layer(i, "mlp.gate_proj.weight"); }
  public static String upProj(int i) { return layer(i, "mlp.up_proj.weight"); }
  public static String downProj(int i) { return layer(i, "mlp.down_proj.weight"); }
  public static String inputNorm(int i) { return layer(i, "input_layernorm.weight"); }
  public static String postAttentionNorm(int i) { return layer(i, "post_attention_layernorm.weight"); }
}
