"""Audio: waveforms as 1-D signals (file io, SNR and spectral metrics, spectrogram and waveform pictures)."""
