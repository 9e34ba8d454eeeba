namespace RepShift.Vision;

/// <summary>
/// The model's input convention: bytes [H, W, C] of an image already at the model's size → floats
/// [C, H, W], scaled to [0, 1] and normalised per channel, (v/255 − mean[c]) / std[c].
/// </summary>
public static class ImagePreprocessor
{
    public static void Normalize(ReadOnlySpan<byte> pixels, int size, int channels, float[] mean, float[] std, Span<float> output)
    {
        if (pixels.Length != size * size * channels) throw new RepShiftException($"image has {pixels.Length} bytes, a {size}×{size} image with {channels} channel(s) needs {size * size * channels}");
        int plane = size * size;
        for (int ch = 0; ch < channels; ch++)
        {
            float scale = 1f / (255f * std[ch]), shift = mean[ch] / std[ch];
            var o = output.Slice(ch * plane, plane);
            for (int i = 0; i < plane; i++) o[i] = pixels[i * channels + ch] * scale - shift;
        }
    }
}
