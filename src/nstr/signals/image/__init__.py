"""Images: photographs as 2-D signals (file io at exact bit depth, PSNR/SSIM, error maps)."""
