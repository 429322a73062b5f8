"""Foundations every layer may use: errors, atomic file writes and JSON, exact-depth PNG, metrics (PSNR,
SSIM), plotting helpers, machine facts and allocator tuning. Imports nothing else from nstr."""
