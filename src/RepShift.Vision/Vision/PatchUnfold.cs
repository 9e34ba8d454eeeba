namespace RepShift.Vision;

/// <summary>
/// Cuts [batch, C, H, W] images into patch rows [batch·patches, C·p·p] in (channel, row, column) order, as
/// PyTorch flattens a Conv2d kernel, so the patch embedding is one GEMM with the flattened kernel.
/// </summary>
public static class PatchUnfold
{
    public static void Unfold(ReadOnlySpan<float> images, int batch, int channels, int size, int patch, Span<float> rows)
    {
        int grid = size / patch, input = channels * patch * patch;
        for (int b = 0; b < batch; b++)
            for (int gy = 0; gy < grid; gy++)
                for (int gx = 0; gx < grid; gx++)
                {
                    var row = rows.Slice(((b * grid + gy) * grid + gx) * input, input);
                    int o = 0;
                    for (int ch = 0; ch < channels; ch++)
                        for (int py = 0; py < patch; py++)
                        {
                            images.Slice(((b * channels + ch) * size + gy * patch + py) * size + gx * patch, patch).CopyTo(row.Slice(o, patch));
                            o += patch;
                        }
                }
    }
}
