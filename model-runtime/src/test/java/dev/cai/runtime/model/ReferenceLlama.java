package dev.cai.runtime.model;

import dev.cai.runtime.weights.ModelWeights;
import dev.cai.runtime.weights.TensorNames;

/**
 * Slow scalar reference of the Hugging Face Llama forward for one unpadded sequence, in double precision,
 * written independently of the DJL model: rotate_half RoPE, repeat_kv GQA, explicit loops.
 */
final class ReferenceLlama {
  private final ModelWeights w;
  private final LlamaConfig c;

  ReferenceLlama(ModelWeights weights) {
    this.w = weights;
    this.c = weights.config();
  }

  /** logits[t][v] of every position. */
  double[][] logits(int[] tokens) {
    int t = tokens.length;
    int h = c.hiddenSize();
    double[][] x = new double[t][h];
    float[] emb = w.require(TensorNames.EMBED_TOKENS).data();
    for (int p = 0; p < t; p++) {
      for (int i = 0; i < h; i++) {
        x[p][i] = emb[tokens[p] * h + i];
      }
    }
    for (int l = 0; l < c.numLayers(); l++) {
      double[][] a = attention(rms(x, w.require(TensorNames.inputNorm(l)).data()), l);
      add(x, a);
      double[][] m = mlp(rms(x, w.require(TensorNames.postAttentionNorm(l)).data()), l);
      add(x, m);
    }
    double[][] hn = rms(x, w.require(TensorNames.FINAL_NORM).data());
    String head = c.tieWordEmbeddings() ? TensorNames.EMBED_TOKENS : TensorNames.LM_HEAD;
    return matVecT(hn, w.require(head).data(), c.vocabSize());
  }

  static double[] logSoftmax(double[] z, double temperature) {
    double max = Double.NEGATIVE_INFINITY;
    for (double v : z) {
      max = Math.max(max, v / temperature);
    }
    double s = 0;
    for (double v : z) {
      s += Math.exp(v / temperature - max);
    }
    double lse = max + Math.log(s);
    double[] out = new double[z.length];
    for (int i = 0; i < z.length; i++) {
      out[i] = z[i] / temperature - lse;
    }
    return out;
  }

  private double[][] attention(double[][] x, int l) {
    int t = x.length;
    int nq = c.numHeads();
    int nkv = c.numKvHeads();
    int d = c.headDim();
    double[][] q = matVecT(x, w.require(TensorNames.qProj(l)).data(), nq * d);
    double[][] k = matVecT(x, w.require(TensorNames.kProj(l)).data(), nkv * d);
    double[][] v = matVecT(x, w.require(TensorNames.vProj(l)).data(), nkv * d);
    for (int p = 0; p < t; p++) {
      for (int hd = 0; hd < nq; hd++) {
        rope(q[p], hd * d, p);
      }
      for (int hd = 0; hd < nkv; hd++) {
        rope(k[p], hd * d, p);
      }
    }
    double[][] ctx = new double[t][nq * d];
    for (int hd = 0; hd < nq; hd++) {
      int kvh = hd / c.groupSize(); // repeat_kv: query head hd reads kv head hd / groupSize
      for (int i = 0; i < t; i++) {
        double[] scores = new double[i + 1];
        double max = Double.NEGATIVE_INFINITY;
        for (int j = 0; j <= i; j++) {
          double s = 0;
          for (int e = 0; e < d; e++) {
            s += q[i][hd * d + e] * k[j][kvh * d + e];
          }
          scores[j] = s / Math.sqrt(d);
          max = Math.max(max, scores[j]);
        }
        double sum = 0;
        for (int j = 0; j <= i; j++) {
          scores[j] = Math.exp(scores[j] - max);
          sum += scores[j];
        }
        for (int j = 0; j <= i; j++) {
          for (int e = 0; e < d; e++) {
            ctx[i][hd * d + e] += scores[j] / sum * v[j][kvh * d + e];
          }
        }
      }
    }
    return matVecT(ctx, w.require(TensorNames.oProj(l)).data(), c.hiddenSize());
  }

  /** In place on x[off, off + d): x·cos + rotate_half(x)·sin, rotate_half(x) = (-x₂, x₁). */
  private void rope(double[] x, int off, int pos) {
    int d = c.headDim();
    int half = d / 2;
    double[] out = new double[d];
    for (int i = 0; i < d; i++) {
      int f = i % half;
      double angle = pos * Math.pow(c.ropeTheta(), -2.0 * f / d);
      double rot = i < half ? -x[off + i + half] : x[off + i - half];
      out[i] = x[off + i] * Math.cos(angle) + rot * Math.sin(angle);
    }
    System.arraycopy(out, 0, x, off, d);
  }

  private double[][] mlp(double[][] x, int l) {
    int inter = c.intermediateSize();
    double[][] g = matVecT(x, w.require(TensorNames.gateProj(l)).data(), inter);
    double[][] u = matVecT(x, w.require(TensorNames.upProj(l)).data(), inter);
    for (int p = 0; p < x.length; p++) {
      for (int i = 0; i < inter; i++) {
        double s = g[p][i] / (1 + Math.exp(-g[p][i]));
        g[p][i] = s * u[p][i];
      }
    }
    return matVecT(g, w.require(TensorNames.downProj(l)).data(), c.hiddenSize());
  }

  private double[][] rms(double[][] x, float[] weight) {
    double[][] out = new double[x.length][];
    for (int p = 0; p < x.length; p++) {
      double ms = 0;
      for (double v : x[p]) {
        ms += v * v;
      }
      double inv = 1 / Math.sqrt(ms / x[p].length + c.rmsNormEps());
      out[p] = new double[x[p].length];
      for (int i = 0; i < x[p].length; i++) {
        out[p][i] = x[p][i] * inv * weight[i];
      }
    }
    return out;
  }

  /** x [t, in] times W^T where W is [out, in] row-major. */
  private static double[][] matVecT(double[][] x, float[] w, int out) {
    int in = x[0].length;
    double[][] y = new double[x.length][out];
    for (int p = 0; p < x.length; p++) {
      for (int o = 0; o < out; o++) {
        double s = 0;
        for (int i = 0; i < in; i++) {
          s += x[p][i] * w[o * in + i];
        }
        y[p][o] = s;
      }
    }
    return y;
  }

  private static void add(double[][] x, double[][] y) {
    for (int p = 0; p < x.length; p++) {
      for (int i = 0; i < x[p].length; i++) {
        x[p][i] += y[p][i];
      }
    }
  }
}
