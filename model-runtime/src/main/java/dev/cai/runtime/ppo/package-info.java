/**
 * The RL-CAI math as small pure functions, read top to bottom like the papers: per-token KL rewards
 * ({@link dev.cai.runtime.ppo.Rewards}), GAE ({@link dev.cai.runtime.ppo.Gae}), whitening
 * ({@link dev.cai.runtime.ppo.Whitening}), the adaptive KL coefficient
 * ({@link dev.cai.runtime.ppo.KlController}), minibatch plans ({@link dev.cai.runtime.ppo.Minibatches}),
 * the PPO losses on DJL arrays ({@link dev.cai.runtime.ppo.PpoLosses}) and the soft Bradley–Terry
 * preference loss ({@link dev.cai.runtime.ppo.PreferenceLoss}).
 *
 * <p>References: Schulman et al. 2017, "Proximal Policy Optimization Algorithms" (arXiv:1707.06347);
 * Schulman et al. 2016, "High-Dimensional Continuous Control Using Generalized Advantage Estimation"
 * (arXiv:1506.02438); Ziegler et al. 2019, "Fine-Tuning Language Models from Human Preferences"
 * (arXiv:1909.08593); Huang et al. 2024, "The N+ Implementation Details of RLHF with PPO"
 * (arXiv:2403.17031); Bai et al. 2022, "Constitutional AI" (arXiv:2212.08073).
 */
package dev.cai.runtime.ppo;
