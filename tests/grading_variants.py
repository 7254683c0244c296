"""Plausible student answers for every autograded exercise: wrong ones must lose the points, right ones earn them.

Used by tests/test_grading_mutants.py, which grades submissions built from them through the same path as
`make grade` (nbgrader autograde in fast mode).

Each entry is a full replacement source for an exercise's solution cell. "wrong" answers are realistic mistakes
that at least one assert of the exercise's test cell catches (or that raise inside it); "right" answers are
correct implementations in another style than the instructor's, using only names in scope in that notebook and
none of the references the test cell switches off with ``forbid``. Notebooks 05 and 06 import neither ``math``
(05) nor ``np`` / ``F`` (06), so their variants do without them.
"""

VARIANTS = {
    # ------------------------------------------------------------------------------------------------------------
    "01_autoencoder.ipynb": {
        "01-bce": {
            "wrong": {
                "mean over pixels instead of sum": '''def my_bce_per_image(logits, x):
    log_p = -F.softplus(-logits)
    log_not_p = -F.softplus(logits)
    return -(x * log_p + (1 - x) * log_not_p).mean()
''',
                "sigmoid then log (infinite for confident logits)": '''def my_bce_per_image(logits, x):
    p = torch.sigmoid(logits)
    per_pixel = -(x * torch.log(p) + (1 - x) * torch.log(1 - p))
    return per_pixel.flatten(1).sum(1).mean()
''',
                "sign error: the log-likelihood, not its negative": '''def my_bce_per_image(logits, x):
    log_p = -F.softplus(-logits)
    log_not_p = -F.softplus(logits)
    return (x * log_p + (1 - x) * log_not_p).flatten(1).sum(1).mean()
''',
                "calls the notebook's bce_per_image": '''def my_bce_per_image(logits, x):
    return bce_per_image(logits, x)
''',
                "sigmoid then log, clamped to stay finite": '''def my_bce_per_image(logits, x):
    p = torch.sigmoid(logits).clamp(1e-7, 1 - 1e-7)
    per_pixel = -(x * torch.log(p) + (1 - x) * torch.log(1 - p))
    return per_pixel.flatten(1).sum(1).mean()
''',
            },
            "right": {
                "logsigmoid, summed over (C, H, W)": '''def my_bce_per_image(logits, x):
    per_pixel = -(x * F.logsigmoid(logits) + (1 - x) * F.logsigmoid(-logits))
    return per_pixel.sum(dim=(1, 2, 3)).mean()
''',
                "max(a, 0) - a x + log1p(exp(-|a|)), divided by the batch size": '''def my_bce_per_image(logits, x):
    per_pixel = logits.clamp(min=0) - logits * x + torch.log1p(torch.exp(-logits.abs()))
    return per_pixel.sum() / x.shape[0]
''',
            },
        },
        "01-train-step": {
            "wrong": {
                "forgets zero_grad (gradients accumulate)": '''def train_step(model, optimizer, xb):
    model.train()
    loss = bce_per_image(model(xb), xb)
    loss.backward()
    optimizer.step()
    return loss.item()
''',
                "returns the loss after the step": '''def train_step(model, optimizer, xb):
    model.train()
    loss = bce_per_image(model(xb), xb)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return bce_per_image(model(xb), xb).item()
''',
                "returns the loss tensor, not a float": '''def train_step(model, optimizer, xb):
    model.train()
    loss = bce_per_image(model(xb), xb)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss
''',
                "PyTorch's default BCE (mean over pixels) instead of bce_per_image": '''def train_step(model, optimizer, xb):
    model.train()
    loss = F.binary_cross_entropy_with_logits(model(xb), xb)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()
''',
            },
            "right": {
                "loss value read before the step, grads cleared through the parameters": '''def train_step(model, optimizer, xb):
    model.train()
    for p in model.parameters():
        p.grad = None
    logits = model(xb)
    loss = bce_per_image(logits, xb)
    value = loss.item()
    loss.backward()
    optimizer.step()
    return value
''',
                "float(loss.detach()), zero_grad(set_to_none=False)": '''def train_step(model, optimizer, xb):
    model.train()
    optimizer.zero_grad(set_to_none=False)
    loss = bce_per_image(model(xb), xb)
    loss.backward()
    optimizer.step()
    return float(loss.detach())
''',
            },
        },
        "01-hole-ratio": {
            "wrong": {
                "each code counted as its own nearest neighbour (spacing 0)": '''def my_hole_ratio(points, codes, k):
    spacing = torch.cdist(codes, codes).min(dim=1).values
    d, idx = torch.cdist(points, codes).topk(k, dim=1, largest=False)
    return d[:, 0] / spacing[idx].mean(dim=1)
''',
                "one global yardstick (the median spacing of all codes)": '''def my_hole_ratio(points, codes, k):
    among = torch.cdist(codes, codes)
    among.fill_diagonal_(float("inf"))
    return torch.cdist(points, codes).min(dim=1).values / among.min(dim=1).values.median()
''',
                "the k nearest codes' distances to the point instead of their spacing": '''def my_hole_ratio(points, codes, k):
    d = torch.cdist(points, codes).topk(k, dim=1, largest=False).values
    return d[:, 0] / d.mean(dim=1)
''',
                "squared distances": '''def my_hole_ratio(points, codes, k):
    among = torch.cdist(codes, codes) ** 2
    among.fill_diagonal_(float("inf"))
    spacing = among.min(dim=1).values
    d, idx = (torch.cdist(points, codes) ** 2).topk(k, dim=1, largest=False)
    return d[:, 0] / spacing[idx].mean(dim=1)
''',
                "median instead of mean over the k codes": '''def my_hole_ratio(points, codes, k):
    among = torch.cdist(codes, codes)
    among.fill_diagonal_(float("inf"))
    spacing = among.min(dim=1).values
    d, idx = torch.cdist(points, codes).topk(k, dim=1, largest=False)
    return d[:, 0] / spacing[idx].median(dim=1).values
''',
            },
            "right": {
                "broadcast differences, argsort": '''def my_hole_ratio(points, codes, k):
    to_codes = (points[:, None, :] - codes[None, :, :]).norm(dim=2)
    among = (codes[:, None, :] - codes[None, :, :]).norm(dim=2)
    among = among + torch.diag(torch.full((len(codes),), float("inf"), dtype=among.dtype))
    spacing = among.min(dim=1).values
    order = to_codes.argsort(dim=1)[:, :k]
    return to_codes.gather(1, order[:, :1]).squeeze(1) / spacing[order].mean(dim=1)
''',
                "a loop over the points, the second-smallest distance as the spacing": '''def my_hole_ratio(points, codes, k):
    spacing = torch.cdist(codes, codes).sort(dim=1).values[:, 1]
    out = []
    for p in points:
        d = (codes - p).pow(2).sum(dim=1).sqrt()
        near = d.argsort()[:k]
        out.append(d[near[0]] / spacing[near].mean())
    return torch.stack(out)
''',
                "NumPy, back to a tensor": '''def my_hole_ratio(points, codes, k):
    p, c = points.numpy(), codes.numpy()
    among = np.sqrt(((c[:, None] - c[None]) ** 2).sum(-1))
    np.fill_diagonal(among, np.inf)
    spacing = among.min(axis=1)
    d = np.sqrt(((p[:, None] - c[None]) ** 2).sum(-1))
    idx = np.argsort(d, axis=1)[:, :k]
    return torch.as_tensor(d.min(axis=1) / spacing[idx].mean(axis=1))
''',
            },
        },
    },
    # ------------------------------------------------------------------------------------------------------------
    "02_vae.ipynb": {
        "02-kl-two-gaussians": {
            "wrong": {
                "roles of q and p swapped (KL(p || q))": '''def kl_two_gaussians(mu_q, logvar_q, mu_p, logvar_p):
    var_q, var_p = logvar_q.exp(), logvar_p.exp()
    return 0.5 * (logvar_q - logvar_p + (var_p + (mu_q - mu_p).pow(2)) / var_q - 1.0).sum(-1)
''',
                "missing the factor 1/2": '''def kl_two_gaussians(mu_q, logvar_q, mu_p, logvar_p):
    var_q, var_p = logvar_q.exp(), logvar_p.exp()
    return (logvar_p - logvar_q + (var_q + (mu_q - mu_p).pow(2)) / var_p - 1.0).sum(-1)
''',
                "log-variances used as variances": '''def kl_two_gaussians(mu_q, logvar_q, mu_p, logvar_p):
    var_q, var_p = logvar_q, logvar_p
    return 0.5 * (torch.log(var_p / var_q) + (var_q + (mu_q - mu_p).pow(2)) / var_p - 1.0).sum(-1)
''',
                "torch.distributions' kl_divergence": '''def kl_two_gaussians(mu_q, logvar_q, mu_p, logvar_p):
    q = Normal(mu_q, torch.exp(0.5 * logvar_q))
    p = Normal(mu_p, torch.exp(0.5 * logvar_p))
    return kl_divergence(q, p).sum(-1)
''',
            },
            "right": {
                "standard deviations and log(sigma_p / sigma_q)": '''def kl_two_gaussians(mu_q, logvar_q, mu_p, logvar_p):
    sd_q, sd_p = torch.exp(0.5 * logvar_q), torch.exp(0.5 * logvar_p)
    per_dim = torch.log(sd_p / sd_q) + (sd_q**2 + (mu_q - mu_p) ** 2) / (2 * sd_p**2) - 0.5
    return per_dim.sum(dim=1)
''',
                "exp of log-variance differences": '''def kl_two_gaussians(mu_q, logvar_q, mu_p, logvar_p):
    ratio = torch.exp(logvar_q - logvar_p)                 # sigma_q² / sigma_p²
    mahalanobis = (mu_q - mu_p) ** 2 * torch.exp(-logvar_p)
    return 0.5 * torch.sum(ratio + mahalanobis - 1 - (logvar_q - logvar_p), dim=-1)
''',
            },
        },
        "02-log-normal": {
            "wrong": {
                "log-variance used as the variance": '''def log_normal_diag(z, mu, logvar):
    return -0.5 * (math.log(2 * math.pi) + torch.log(logvar) + (z - mu).pow(2) / logvar).sum(-1)
''',
                "divides by sigma instead of sigma squared": '''def log_normal_diag(z, mu, logvar):
    sigma = torch.exp(0.5 * logvar)
    return -0.5 * (math.log(2 * math.pi) + logvar + (z - mu).pow(2) / sigma).sum(-1)
''',
                "missing the factor 1/2": '''def log_normal_diag(z, mu, logvar):
    return -(math.log(2 * math.pi) + logvar + (z - mu).pow(2) / logvar.exp()).sum(-1)
''',
                "torch.distributions.Normal.log_prob": '''def log_normal_diag(z, mu, logvar):
    return Normal(mu, torch.exp(0.5 * logvar)).log_prob(z).sum(-1)
''',
            },
            "right": {
                "standardised residuals": '''def log_normal_diag(z, mu, logvar):
    eps = (z - mu) * torch.exp(-0.5 * logvar)
    return (-0.5 * eps**2 - 0.5 * logvar - 0.5 * math.log(2 * math.pi)).sum(dim=-1)
''',
                "precision times squared error, constant counted once per dimension": '''def log_normal_diag(z, mu, logvar):
    d = z.shape[-1]
    quad = ((z - mu) ** 2 * torch.exp(-logvar)).sum(-1)
    return -0.5 * quad - 0.5 * logvar.sum(-1) - 0.5 * d * math.log(2 * math.pi)
''',
            },
        },
        "02-best-prior-variance": {
            "wrong": {
                "one variance per image, not averaged over the images": '''def best_prior_variance(mu, logvar):
    return mu.pow(2) + logvar.exp()
''',
                "the means only, forgetting the encoder's variances": '''def best_prior_variance(mu, logvar):
    return mu.pow(2).mean(0)
''',
                "the variance of the means instead of their second moment": '''def best_prior_variance(mu, logvar):
    return mu.var(0, unbiased=False) + logvar.exp().mean(0)
''',
                "standard deviations instead of variances": '''def best_prior_variance(mu, logvar):
    return (mu.pow(2) + logvar.exp()).mean(0).sqrt()
''',
                "the log-variance used as the variance": '''def best_prior_variance(mu, logvar):
    return (mu.pow(2) + logvar).mean(0)
''',
            },
            "right": {
                "sum over images divided by their number": '''def best_prior_variance(mu, logvar):
    n = mu.shape[0]
    return (mu * mu).sum(dim=0) / n + torch.exp(logvar).sum(dim=0) / n
''',
                "torch.mean of the second moment": '''def best_prior_variance(mu, logvar):
    second_moment = mu**2 + torch.exp(logvar)      # E[z_j^2] under each q(z|x_n)
    return torch.mean(second_moment, dim=0)
''',
            },
        },
    },
    # ------------------------------------------------------------------------------------------------------------
    "03_reconstruction_losses.ipynb": {
        "03-laplace-nll": {
            "wrong": {
                "mean over pixels instead of sum": '''def laplace_nll_per_image(x_hat, x, b):
    per_pixel = (x - x_hat).abs() / b + math.log(2 * b)
    return per_pixel.flatten(1).mean(1)
''',
                "log b instead of log 2b": '''def laplace_nll_per_image(x_hat, x, b):
    per_pixel = (x - x_hat).abs() / b + math.log(b)
    return per_pixel.flatten(1).sum(1)
''',
                "normaliser counted once per image, not per pixel": '''def laplace_nll_per_image(x_hat, x, b):
    return (x - x_hat).abs().flatten(1).sum(1) / b + math.log(2 * b)
''',
                "torch.distributions.Laplace": '''def laplace_nll_per_image(x_hat, x, b):
    return -torch.distributions.Laplace(x_hat, b).log_prob(x).flatten(1).sum(1)
''',
            },
            "right": {
                "sum over (C, H, W) plus D log 2b": '''def laplace_nll_per_image(x_hat, x, b):
    d = x[0].numel()
    return (x - x_hat).abs().sum(dim=(1, 2, 3)) / b + d * math.log(2 * b)
''',
                "negated log-density, reshaped per image": '''def laplace_nll_per_image(x_hat, x, b):
    log_density = -torch.log(torch.tensor(2.0 * b)) - torch.abs(x - x_hat) / b
    return -log_density.reshape(x.shape[0], -1).sum(-1)
''',
                "one image at a time": '''def laplace_nll_per_image(x_hat, x, b):
    out = []
    for xh_i, x_i in zip(x_hat, x):
        out.append((x_i - xh_i).abs().sum() / b + x_i.numel() * math.log(2 * b))
    return torch.stack(out)
''',
            },
        },
        "03-best-sigma": {
            "wrong": {
                "the mean of per-image RMS values, not one sigma for all pixels": '''def best_sigma(x_hat, x):
    return (x - x_hat).pow(2).flatten(1).mean(1).sqrt().mean().item()
''',
                "returns the variance (MSE), not sigma": '''def best_sigma(x_hat, x):
    return (x - x_hat).pow(2).mean().item()
''',
                "sum of squares per image (divides by B, not B x D)": '''def best_sigma(x_hat, x):
    sse = (x - x_hat).pow(2).sum()
    return (sse / x.shape[0]).sqrt().item()
''',
                "mean absolute error (the Laplace answer)": '''def best_sigma(x_hat, x):
    return (x - x_hat).abs().mean().item()
''',
                "returns a tensor, not a Python float": '''def best_sigma(x_hat, x):
    return (x - x_hat).pow(2).mean().sqrt()
''',
            },
            "right": {
                "NumPy on the CPU": '''def best_sigma(x_hat, x):
    err = (x - x_hat).detach().cpu().numpy()
    return float(np.sqrt(np.mean(err**2)))
''',
                "SSE / (B D) with math.sqrt": '''def best_sigma(x_hat, x):
    sse = ((x - x_hat) ** 2).sum().item()
    return math.sqrt(sse / x.numel())
''',
                "vector norm over all pixels": '''def best_sigma(x_hat, x):
    return (torch.linalg.vector_norm(x - x_hat) / math.sqrt(x.numel())).item()
''',
            },
        },
        "03-class-entropy": {
            "wrong": {
                "no 0 log 0 = 0 (NaN for empty classes)": '''def class_entropy(probs):
    counts = torch.bincount(probs.argmax(1), minlength=probs.shape[1]).float()
    freq = counts / counts.sum()
    return float(-(freq * freq.log()).sum())
''',
                "entropy of the mean probabilities, not of the arg-max histogram": '''def class_entropy(probs):
    mean_p = probs.mean(0)
    return float(-(mean_p * mean_p.log()).sum())
''',
                "log base 2 (bits, not nats)": '''def class_entropy(probs):
    counts = torch.bincount(probs.argmax(1), minlength=probs.shape[1]).float()
    freq = counts[counts > 0] / counts.sum()
    return float(-(freq * torch.log2(freq)).sum())
''',
                "sign error": '''def class_entropy(probs):
    counts = torch.bincount(probs.argmax(1), minlength=probs.shape[1]).float()
    freq = counts[counts > 0] / counts.sum()
    return float((freq * freq.log()).sum())
''',
                "returns a 0-d tensor instead of a float": '''def class_entropy(probs):
    counts = torch.bincount(probs.argmax(1), minlength=probs.shape[1]).float()
    freq = counts[counts > 0] / counts.sum()
    return -(freq * freq.log()).sum()
''',
            },
            "right": {
                "NumPy's unique with counts": '''def class_entropy(probs):
    labels = probs.argmax(1).cpu().numpy()
    _, counts = np.unique(labels, return_counts=True)
    f = counts / counts.sum()
    return float(-(f * np.log(f)).sum())
''',
                "a plain loop over the classes that occur": '''def class_entropy(probs):
    labels = probs.argmax(dim=1).tolist()
    n = len(labels)
    h = 0.0
    for k in set(labels):
        f = labels.count(k) / n
        h -= f * math.log(f)
    return h
''',
            },
        },
    },
    # ------------------------------------------------------------------------------------------------------------
    "04_beta_vae.ipynb": {
        "04-kl-per-dim": {
            "wrong": {
                "sum over the batch instead of mean": '''def kl_per_dimension(mu, logvar):
    return 0.5 * (mu.pow(2) + logvar.exp() - logvar - 1.0).sum(0)
''',
                "missing the factor 1/2": '''def kl_per_dimension(mu, logvar):
    return (mu.pow(2) + logvar.exp() - logvar - 1.0).mean(0)
''',
                "sigma used as the variance (exp(logvar / 2))": '''def kl_per_dimension(mu, logvar):
    var = torch.exp(0.5 * logvar)
    return 0.5 * (mu.pow(2) + var - logvar - 1.0).mean(0)
''',
                "torch.distributions' kl_divergence": '''def kl_per_dimension(mu, logvar):
    q = torch.distributions.Normal(mu, (0.5 * logvar).exp())
    p = torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(mu))
    return torch.distributions.kl_divergence(q, p).mean(0)
''',
            },
            "right": {
                "term by term, batch means first": '''def kl_per_dimension(mu, logvar):
    return 0.5 * (mu.pow(2).mean(0) + logvar.exp().mean(0) - logvar.mean(0) - 1)
''',
                "a loop over the latent dimensions": '''def kl_per_dimension(mu, logvar):
    out = []
    for d in range(mu.shape[1]):
        m, lv = mu[:, d], logvar[:, d]
        out.append((0.5 * (m * m + torch.exp(lv) - lv - 1)).mean())
    return torch.stack(out)
''',
                "sum over the batch divided by B": '''def kl_per_dimension(mu, logvar):
    var = torch.exp(logvar)
    kl = (mu**2 + var - logvar - 1) / 2
    return kl.sum(dim=0) / mu.shape[0]
''',
            },
        },
        "04-mc-rate": {
            "wrong": {
                "closed form instead of Monte Carlo (no randomness)": '''def mc_rate(mu, logvar, n_samples=1000, generator=None):
    return kl_normal(mu, logvar)
''',
                "the prior evaluated at eps instead of z": '''def mc_rate(mu, logvar, n_samples=1000, generator=None):
    eps = torch.randn((n_samples, *mu.shape), generator=generator)
    log_q = -0.5 * (math.log(2 * math.pi) + logvar + eps.pow(2)).sum(-1)
    log_p = -0.5 * (math.log(2 * math.pi) + eps.pow(2)).sum(-1)
    return (log_q - log_p).mean()
''',
                "log 2 pi left out of log p only": '''def mc_rate(mu, logvar, n_samples=1000, generator=None):
    eps = torch.randn((n_samples, *mu.shape), generator=generator)
    z = mu + torch.exp(0.5 * logvar) * eps
    log_q = -0.5 * (math.log(2 * math.pi) + logvar + eps.pow(2)).sum(-1)
    log_p = -0.5 * z.pow(2).sum(-1)
    return (log_q - log_p).mean()
''',
                "summed over the batch (total rate, not the batch mean)": '''def mc_rate(mu, logvar, n_samples=1000, generator=None):
    eps = torch.randn((n_samples, *mu.shape), generator=generator)
    z = mu + torch.exp(0.5 * logvar) * eps
    log_q = -0.5 * (math.log(2 * math.pi) + logvar + eps.pow(2)).sum(-1)
    log_p = -0.5 * (math.log(2 * math.pi) + z.pow(2)).sum(-1)
    return (log_q - log_p).mean(0).sum()
''',
                "ignores the generator argument (global RNG)": '''def mc_rate(mu, logvar, n_samples=1000, generator=None):
    eps = torch.randn((n_samples, *mu.shape))
    z = mu + torch.exp(0.5 * logvar) * eps
    log_q = -0.5 * (math.log(2 * math.pi) + logvar + eps.pow(2)).sum(-1)
    log_p = -0.5 * (math.log(2 * math.pi) + z.pow(2)).sum(-1)
    return (log_q - log_p).mean()
''',
            },
            "right": {
                "(B, S, D) layout, log q written from z": '''def mc_rate(mu, logvar, n_samples=1000, generator=None):
    B, D = mu.shape
    eps = torch.randn(B, n_samples, D, generator=generator)
    std = torch.exp(0.5 * logvar)[:, None, :]
    z = mu[:, None, :] + std * eps
    log_q = -0.5 * (math.log(2 * math.pi) + logvar[:, None, :] + (z - mu[:, None, :]) ** 2 / std**2).sum(-1)
    log_p = -0.5 * (math.log(2 * math.pi) + z**2).sum(-1)
    return (log_q - log_p).mean()
''',
                "simplified log-ratio 1/2 (z² - eps² - logvar)": '''def mc_rate(mu, logvar, n_samples=1000, generator=None):
    eps = torch.randn((n_samples,) + tuple(mu.shape), generator=generator)
    z = mu + (0.5 * logvar).exp() * eps
    log_ratio = 0.5 * (z**2 - eps**2 - logvar).sum(dim=-1)     # (S, B)
    return log_ratio.mean()
''',
            },
        },
    },
    # ------------------------------------------------------------------------------------------------------------
    "05_gan.ipynb": {
        "05-discriminator-loss": {
            "wrong": {
                "sigmoid then log (infinite far from 0)": '''def discriminator_loss(logit_real, logit_fake):
    d_real, d_fake = torch.sigmoid(logit_real), torch.sigmoid(logit_fake)
    return -torch.log(d_real).mean() - torch.log(1 - d_fake).mean()
''',
                "labels swapped (real scored as fake)": '''def discriminator_loss(logit_real, logit_fake):
    return F.softplus(logit_real).mean() + F.softplus(-logit_fake).mean()
''',
                "one mean over the concatenated batch": '''def discriminator_loss(logit_real, logit_fake):
    return torch.cat([F.softplus(-logit_real), F.softplus(logit_fake)]).mean()
''',
                "PyTorch's BCE with logits": '''def discriminator_loss(logit_real, logit_fake):
    return (F.binary_cross_entropy_with_logits(logit_real, torch.ones_like(logit_real))
            + F.binary_cross_entropy_with_logits(logit_fake, torch.zeros_like(logit_fake)))
''',
                "sigmoid then log, clamped to stay finite": '''def discriminator_loss(logit_real, logit_fake):
    d_real = torch.sigmoid(logit_real).clamp(1e-7, 1 - 1e-7)
    d_fake = torch.sigmoid(logit_fake).clamp(1e-7, 1 - 1e-7)
    return -torch.log(d_real).mean() - torch.log(1 - d_fake).mean()
''',
            },
            "right": {
                "logsigmoid": '''def discriminator_loss(logit_real, logit_fake):
    return -(F.logsigmoid(logit_real).mean() + F.logsigmoid(-logit_fake).mean())
''',
                "softplus written out stably": '''def discriminator_loss(logit_real, logit_fake):
    def softplus(t):
        return t.clamp(min=0) + torch.log1p(torch.exp(-t.abs()))
    return softplus(-logit_real).mean() + softplus(logit_fake).mean()
''',
            },
        },
        "05-frechet-diagonal": {
            "wrong": {
                "variances used as standard deviations (no square roots)": '''def frechet_distance_diagonal(mu_a, var_a, mu_b, var_b):
    return float(((mu_a - mu_b) ** 2).sum() + ((var_a - var_b) ** 2).sum())
''',
                "square root of the variance difference": '''def frechet_distance_diagonal(mu_a, var_a, mu_b, var_b):
    return float(((mu_a - mu_b) ** 2).sum() + (var_a - var_b).abs().sqrt().pow(2).sum())
''',
                "mean difference not squared": '''def frechet_distance_diagonal(mu_a, var_a, mu_b, var_b):
    return float((mu_a - mu_b).abs().sum() + ((var_a.sqrt() - var_b.sqrt()) ** 2).sum())
''',
                "mean over the dimensions instead of sum": '''def frechet_distance_diagonal(mu_a, var_a, mu_b, var_b):
    return float(((mu_a - mu_b) ** 2).mean() + ((var_a.sqrt() - var_b.sqrt()) ** 2).mean())
''',
            },
            "right": {
                "trace form: var_a + var_b - 2 sqrt(var_a var_b)": '''def frechet_distance_diagonal(mu_a, var_a, mu_b, var_b):
    mean_term = torch.sum((mu_a - mu_b) ** 2)
    cov_term = torch.sum(var_a + var_b - 2 * torch.sqrt(var_a * var_b))
    return float(mean_term + cov_term)
''',
                "NumPy": '''def frechet_distance_diagonal(mu_a, var_a, mu_b, var_b):
    ma, mb = mu_a.cpu().numpy(), mu_b.cpu().numpy()
    sa, sb = np.sqrt(var_a.cpu().numpy()), np.sqrt(var_b.cpu().numpy())
    return float(np.sum((ma - mb) ** 2) + np.sum((sa - sb) ** 2))
''',
                "a loop over the dimensions": '''def frechet_distance_diagonal(mu_a, var_a, mu_b, var_b):
    total = 0.0
    for d in range(len(mu_a)):
        total += (float(mu_a[d]) - float(mu_b[d])) ** 2
        total += (float(var_a[d]) ** 0.5 - float(var_b[d]) ** 0.5) ** 2
    return total
''',
            },
        },
        "05-gan-step": {
            "wrong": {
                "no detach (both optimisers cleared at the top)": '''def gan_step(G, D, opt_g, opt_d, real, z):
    opt_g.zero_grad()
    opt_d.zero_grad()
    fake = G(z)
    d_loss = (F.binary_cross_entropy_with_logits(D(real), torch.ones(len(real)))
              + F.binary_cross_entropy_with_logits(D(fake), torch.zeros(len(z))))
    d_loss.backward(retain_graph=True)
    opt_d.step()
    opt_d.zero_grad()
    g_loss = F.binary_cross_entropy_with_logits(D(fake), torch.ones(len(z)))
    g_loss.backward()
    opt_g.step()
    return d_loss.item(), g_loss.item()
''',
                "wrong target label for the generator (fakes labelled 0)": '''def gan_step(G, D, opt_g, opt_d, real, z):
    fake = G(z)
    d_loss = (F.binary_cross_entropy_with_logits(D(real), torch.ones(len(real)))
              + F.binary_cross_entropy_with_logits(D(fake.detach()), torch.zeros(len(z))))
    opt_d.zero_grad()
    d_loss.backward()
    opt_d.step()
    g_loss = F.binary_cross_entropy_with_logits(D(fake), torch.zeros(len(z)))
    opt_g.zero_grad()
    g_loss.backward()
    opt_g.step()
    return d_loss.item(), g_loss.item()
''',
                "steps the discriminator's optimiser in the generator step": '''def gan_step(G, D, opt_g, opt_d, real, z):
    fake = G(z)
    d_loss = (F.binary_cross_entropy_with_logits(D(real), torch.ones(len(real)))
              + F.binary_cross_entropy_with_logits(D(fake.detach()), torch.zeros(len(z))))
    opt_d.zero_grad()
    d_loss.backward()
    opt_d.step()
    g_loss = F.binary_cross_entropy_with_logits(D(fake), torch.ones(len(z)))
    opt_g.zero_grad()
    g_loss.backward()
    opt_d.step()
    return d_loss.item(), g_loss.item()
''',
                "generator step before the discriminator step": '''def gan_step(G, D, opt_g, opt_d, real, z):
    fake = G(z)
    g_loss = F.binary_cross_entropy_with_logits(D(fake), torch.ones(len(z)))
    opt_g.zero_grad()
    g_loss.backward()
    opt_g.step()
    d_loss = (F.binary_cross_entropy_with_logits(D(real), torch.ones(len(real)))
              + F.binary_cross_entropy_with_logits(D(fake.detach()), torch.zeros(len(z))))
    opt_d.zero_grad()
    d_loss.backward()
    opt_d.step()
    return d_loss.item(), g_loss.item()
''',
                "D's labels swapped (real 0, fake 1)": '''def gan_step(G, D, opt_g, opt_d, real, z):
    fake = G(z)
    d_loss = (F.binary_cross_entropy_with_logits(D(real), torch.zeros(len(real)))
              + F.binary_cross_entropy_with_logits(D(fake.detach()), torch.ones(len(z))))
    opt_d.zero_grad()
    d_loss.backward()
    opt_d.step()
    g_loss = F.binary_cross_entropy_with_logits(D(fake), torch.ones(len(z)))
    opt_g.zero_grad()
    g_loss.backward()
    opt_g.step()
    return d_loss.item(), g_loss.item()
''',
                "leaked gradient: zero_grad once at the top, D stepped last": '''def gan_step(G, D, opt_g, opt_d, real, z):
    opt_g.zero_grad()
    opt_d.zero_grad()
    fake = G(z)
    g_loss = F.binary_cross_entropy_with_logits(D(fake), torch.ones(len(z)))
    g_loss.backward()
    opt_g.step()
    d_loss = (F.binary_cross_entropy_with_logits(D(real), torch.ones(len(real)))
              + F.binary_cross_entropy_with_logits(D(fake.detach()), torch.zeros(len(z))))
    d_loss.backward()
    opt_d.step()
    return d_loss.item(), g_loss.item()
''',
            },
            "right": {
                "softplus form, both optimisers cleared at the top": '''def gan_step(G, D, opt_g, opt_d, real, z):
    opt_d.zero_grad()
    opt_g.zero_grad()
    fake = G(z)
    d_loss = F.softplus(-D(real)).mean() + F.softplus(D(fake.detach())).mean()
    d_loss.backward()
    opt_d.step()
    opt_g.zero_grad()
    g_loss = F.softplus(-D(fake)).mean()
    g_loss.backward()
    opt_g.step()
    return d_loss.item(), g_loss.item()
''',
                "fakes drawn under no_grad for D, again for G": '''def gan_step(G, D, opt_g, opt_d, real, z):
    with torch.no_grad():
        fake = G(z)
    d_loss = (F.binary_cross_entropy_with_logits(D(real), torch.ones_like(D(real)))
              + F.binary_cross_entropy_with_logits(D(fake), torch.zeros(len(fake))))
    opt_d.zero_grad()
    d_loss.backward()
    opt_d.step()
    logits = D(G(z))
    g_loss = F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))
    opt_g.zero_grad()
    g_loss.backward()
    opt_g.step()
    return d_loss.item(), g_loss.item()
''',
            },
        },
    },
    # ------------------------------------------------------------------------------------------------------------
    "06_noisy_data.ipynb": {
        "06-salt-and-pepper": {
            "wrong": {
                "modifies the input in place": '''def my_salt_and_pepper(images, p, generator=None):
    hit = torch.rand(images.shape, generator=generator) < p
    salt = (torch.rand(images.shape, generator=generator) < 0.5).to(images.dtype)
    images[hit] = salt[hit]
    return images
''',
                "ignores the generator (global RNG)": '''def my_salt_and_pepper(images, p, generator=None):
    hit = torch.rand(images.shape) < p
    salt = (torch.rand(images.shape) < 0.5).to(images.dtype)
    return torch.where(hit, salt, images)
''',
                "0 with probability p and 1 with probability p (2p hit)": '''def my_salt_and_pepper(images, p, generator=None):
    u = torch.rand(images.shape, generator=generator)
    out = images.clone()
    out[u < p] = 0.0
    out[u > 1 - p] = 1.0
    return out
''',
                "calls the course's salt_and_pepper": '''def my_salt_and_pepper(images, p, generator=None):
    return salt_and_pepper(images, p, generator=generator)
''',
            },
            "right": {
                "one uniform per pixel, three ranges": '''def my_salt_and_pepper(images, p, generator=None):
    u = torch.rand(images.shape, generator=generator)
    out = images.clone()
    out[u < p / 2] = 0.0
    out[(u >= p / 2) & (u < p)] = 1.0
    return out
''',
                "arithmetic mask instead of indexing": '''def my_salt_and_pepper(images, p, generator=None):
    u = torch.rand(images.shape, generator=generator)
    keep = (u >= p).to(images.dtype)
    salt = (u >= p / 2).to(images.dtype)          # among the hits (u < p): pepper below p/2, salt above
    return keep * images + (1 - keep) * salt
''',
                "nested torch.where": '''def my_salt_and_pepper(images, p, generator=None):
    hit = torch.rand(images.shape, generator=generator)
    coin = torch.rand(images.shape, generator=generator)
    noise = torch.where(coin < 0.5, torch.zeros_like(images), torch.ones_like(images))
    return torch.where(hit < p, noise, images)
''',
            },
        },
        "06-psnr": {
            "wrong": {
                "MSE over the whole batch (one number)": '''def my_psnr(estimate, target):
    mse = (estimate - target).pow(2).mean()
    return 10 * torch.log10(1.0 / mse)
''',
                "20 log10 of 1 / MSE": '''def my_psnr(estimate, target):
    mse = (estimate - target).pow(2).flatten(1).mean(1)
    return 20 * torch.log10(1.0 / mse)
''',
                "epsilon added to the MSE (identical images are not inf)": '''def my_psnr(estimate, target):
    mse = (estimate - target).pow(2).flatten(1).mean(1)
    return 10 * torch.log10(1.0 / (mse + 1e-10))
''',
                "calls the course's psnr": '''def my_psnr(estimate, target):
    return psnr(estimate, target)
''',
            },
            "right": {
                "-10 log10(MSE), mean over all but the batch dimension": '''def my_psnr(estimate, target):
    dims = tuple(range(1, estimate.dim()))
    mse = torch.mean((estimate - target) ** 2, dim=dims)
    return -10 * torch.log10(mse)
''',
                "one image at a time": '''def my_psnr(estimate, target):
    values = [10 * torch.log10(1 / ((e - t) ** 2).mean()) for e, t in zip(estimate, target)]
    return torch.stack(values)
''',
                "20 log10(1 / RMSE) from mse_loss": '''def my_psnr(estimate, target):
    mse = torch.nn.functional.mse_loss(estimate, target, reduction="none").reshape(len(estimate), -1).mean(1)
    return 20 * torch.log10(1 / mse.sqrt())
''',
            },
        },
        "06-unmix": {
            "wrong": {
                "forgets to clip": '''def my_unmix(y, p):
    return (y - p / 2) / (1 - p)
''',
                "subtracts p instead of p / 2": '''def my_unmix(y, p):
    return ((y - p) / (1 - p)).clamp(0, 1)
''',
                "divides before subtracting": '''def my_unmix(y, p):
    return (y / (1 - p) - p / 2).clamp(0, 1)
''',
                "calls the notebook's unmix": '''def my_unmix(y, p):
    return unmix(y, p)
''',
                "works in place on its input": '''def my_unmix(y, p):
    return y.mul_(2).sub_(p).div_(2 * (1 - p)).clamp_(0.0, 1.0)
''',
            },
            "right": {
                "(2y - p) / (2 (1 - p)), torch.clamp with keywords": '''def my_unmix(y, p):
    x = (2 * y - p) / (2 * (1 - p))
    return torch.clamp(x, min=0.0, max=1.0)
''',
                "clipping with torch.where": '''def my_unmix(y, p):
    x = (y - p / 2) / (1 - p)
    x = torch.where(x < 0, torch.zeros_like(x), x)
    return torch.where(x > 1, torch.ones_like(x), x)
''',
            },
        },
        "06-denoising-step": {
            "wrong": {
                "noisy target (the VAE of Section 2, not a denoiser)": '''def denoising_step(model, optimizer, clean, corrupt):
    noisy = corrupt(clean)
    loss = nn.functional.binary_cross_entropy_with_logits(model(noisy), noisy, reduction="sum") / len(clean)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()
''',
                "clean input (never corrupts: a plain autoencoder)": '''def denoising_step(model, optimizer, clean, corrupt):
    loss = nn.functional.binary_cross_entropy_with_logits(model(clean), clean, reduction="sum") / len(clean)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()
''',
                "forgets zero_grad (gradients accumulate)": '''def denoising_step(model, optimizer, clean, corrupt):
    loss = nn.functional.binary_cross_entropy_with_logits(model(corrupt(clean)), clean, reduction="sum") / len(clean)
    loss.backward()
    optimizer.step()
    return loss.item()
''',
                "mean over pixels instead of nats per image": '''def denoising_step(model, optimizer, clean, corrupt):
    loss = nn.functional.binary_cross_entropy_with_logits(model(corrupt(clean)), clean)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()
''',
                "corrupts the batch in place": '''def denoising_step(model, optimizer, clean, corrupt):
    target = clean
    clean.copy_(corrupt(clean))
    loss = nn.functional.binary_cross_entropy_with_logits(model(clean), target, reduction="sum") / len(clean)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()
''',
                "draws the noise twice (shows it, then trains on another copy)": '''def denoising_step(model, optimizer, clean, corrupt):
    preview = corrupt(clean)
    loss = nn.functional.binary_cross_entropy_with_logits(model(corrupt(clean)), clean, reduction="sum") / len(clean)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()
''',
                "returns the loss tensor": '''def denoising_step(model, optimizer, clean, corrupt):
    loss = nn.functional.binary_cross_entropy_with_logits(model(corrupt(clean)), clean, reduction="sum") / len(clean)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.detach()
''',
                "calls the course's AEObjective": '''def denoising_step(model, optimizer, clean, corrupt):
    loss = AEObjective("bce", corruption=corrupt)(model, (clean,))
    loss = loss[0] if isinstance(loss, tuple) else loss
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()
''',
            },
            "right": {
                "logsigmoid written out, summed per image": '''def denoising_step(model, optimizer, clean, corrupt):
    logits = model(corrupt(clean))
    per_pixel = -(clean * torch.nn.functional.logsigmoid(logits) + (1 - clean) * torch.nn.functional.logsigmoid(-logits))
    loss = per_pixel.flatten(1).sum(1).mean()
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return float(loss)
''',
                "zero_grad after the step, loss module with reduction none": '''def denoising_step(model, optimizer, clean, corrupt):
    criterion = nn.BCEWithLogitsLoss(reduction="none")
    loss = criterion(model(corrupt(clean)), clean).sum(dim=(1, 2, 3)).mean()
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
    return loss.item()
''',
            },
        },
    },
    # ------------------------------------------------------------------------------------------------------------
    "07_anomaly_detection.ipynb": {
        "07-auroc-by-counting": {
            "wrong": {
                "ties counted as 0": '''def auroc_by_counting(normal_scores, anomaly_scores):
    a = anomaly_scores.double()[:, None]
    n = normal_scores.double()[None, :]
    return float((a > n).double().mean())
''',
                "ties counted as 1 (>=)": '''def auroc_by_counting(normal_scores, anomaly_scores):
    a = anomaly_scores.double()[:, None]
    n = normal_scores.double()[None, :]
    return float((a >= n).double().mean())
''',
                "normal above anomaly (roles swapped)": '''def auroc_by_counting(normal_scores, anomaly_scores):
    a = anomaly_scores.double()[:, None]
    n = normal_scores.double()[None, :]
    wins = (n > a).double() + 0.5 * (n == a).double()
    return float(wins.mean())
''',
                "calls the course's auroc": '''def auroc_by_counting(normal_scores, anomaly_scores):
    scores = torch.cat([normal_scores, anomaly_scores])
    labels = torch.cat([torch.zeros(len(normal_scores)), torch.ones(len(anomaly_scores))]).bool()
    return auroc(scores, labels)
''',
            },
            "right": {
                "a double loop over the pairs": '''def auroc_by_counting(normal_scores, anomaly_scores):
    normals, anomalies = normal_scores.tolist(), anomaly_scores.tolist()
    wins = 0.0
    for a in anomalies:
        for n in normals:
            if a > n:
                wins += 1.0
            elif a == n:
                wins += 0.5
    return wins / (len(anomalies) * len(normals))
''',
                "sign of the differences": '''def auroc_by_counting(normal_scores, anomaly_scores):
    diff = anomaly_scores.double().unsqueeze(1) - normal_scores.double().unsqueeze(0)
    return ((torch.sign(diff) + 1) / 2).mean().item()
''',
                "searchsorted on the sorted normal scores": '''def auroc_by_counting(normal_scores, anomaly_scores):
    n_sorted = torch.sort(normal_scores.double()).values
    a = anomaly_scores.double()
    below = torch.searchsorted(n_sorted, a, right=False).double()      # normals strictly below each anomaly
    at_or_below = torch.searchsorted(n_sorted, a, right=True).double()
    wins = below + 0.5 * (at_or_below - below)
    return float(wins.sum() / (len(n_sorted) * len(a)))
''',
            },
        },
        "07-detection-rate": {
            "wrong": {
                "strict > at the observed thresholds (misses an anomaly at the lowest score)": '''def detection_rate_at(normal_scores, anomaly_scores, max_false_alarm=0.05):
    thresholds = torch.cat([normal_scores, anomaly_scores]).unique()[:, None]
    false_alarm = (normal_scores[None, :] > thresholds).double().mean(1)
    detected = (anomaly_scores[None, :] > thresholds).double().mean(1)
    allowed = false_alarm <= max_false_alarm
    return float(detected[allowed].max()) if allowed.any() else 0.0
''',
                "'<' instead of '<=' for the allowed false-alarm rate": '''def detection_rate_at(normal_scores, anomaly_scores, max_false_alarm=0.05):
    thresholds = torch.cat([normal_scores, anomaly_scores]).unique()[:, None]
    false_alarm = (normal_scores[None, :] >= thresholds).double().mean(1)
    detected = (anomaly_scores[None, :] >= thresholds).double().mean(1)
    allowed = false_alarm < max_false_alarm
    return float(detected[allowed].max()) if allowed.any() else 0.0
''',
                "thresholds taken from the normal scores only": '''def detection_rate_at(normal_scores, anomaly_scores, max_false_alarm=0.05):
    thresholds = normal_scores.unique()[:, None]
    false_alarm = (normal_scores[None, :] >= thresholds).double().mean(1)
    detected = (anomaly_scores[None, :] >= thresholds).double().mean(1)
    allowed = false_alarm <= max_false_alarm
    return float(detected[allowed].max()) if allowed.any() else 0.0
''',
                "threshold at the (1 - alpha) quantile of the normal scores": '''def detection_rate_at(normal_scores, anomaly_scores, max_false_alarm=0.05):
    tau = torch.quantile(normal_scores.double(), 1 - max_false_alarm)
    return float((anomaly_scores.double() >= tau).double().mean())
''',
                "calls the course's roc_curve": '''def detection_rate_at(normal_scores, anomaly_scores, max_false_alarm=0.05):
    scores = torch.cat([normal_scores, anomaly_scores])
    labels = torch.cat([torch.zeros(len(normal_scores)), torch.ones(len(anomaly_scores))]).bool()
    fpr, tpr, _ = roc_curve(scores, labels)
    return float(tpr[fpr <= max_false_alarm].max())
''',
            },
            "right": {
                "a loop over the candidate thresholds": '''def detection_rate_at(normal_scores, anomaly_scores, max_false_alarm=0.05):
    best = 0.0
    for tau in torch.cat([normal_scores, anomaly_scores]).unique().tolist():
        false_alarm = (normal_scores >= tau).double().mean().item()
        if false_alarm <= max_false_alarm:
            best = max(best, (anomaly_scores >= tau).double().mean().item())
    return best
''',
                "NumPy, vectorised": '''def detection_rate_at(normal_scores, anomaly_scores, max_false_alarm=0.05):
    n, a = normal_scores.detach().cpu().numpy(), anomaly_scores.detach().cpu().numpy()
    taus = np.unique(np.concatenate([n, a]))
    false_alarm = (n[None, :] >= taus[:, None]).sum(1) / len(n)
    detected = (a[None, :] >= taus[:, None]).sum(1) / len(a)
    ok = false_alarm <= max_false_alarm
    return float(detected[ok].max()) if ok.any() else 0.0
''',
                "counts from searchsorted on sorted scores": '''def detection_rate_at(normal_scores, anomaly_scores, max_false_alarm=0.05):
    n_sorted = torch.sort(normal_scores.double()).values
    a_sorted = torch.sort(anomaly_scores.double()).values
    taus = torch.cat([n_sorted, a_sorted]).unique()
    flagged_normal = len(n_sorted) - torch.searchsorted(n_sorted, taus, right=False)   # scores >= tau
    caught = len(a_sorted) - torch.searchsorted(a_sorted, taus, right=False)
    ok = flagged_normal.double() / len(n_sorted) <= max_false_alarm
    if not ok.any():
        return 0.0
    return float((caught.double() / len(a_sorted))[ok].max())
''',
            },
        },
    },
}
