using SkiaSharp;

namespace RepShift.Vision;

/// <summary>
/// The ToMe/paper-style figure of <c>repshift show --image</c>: the input image, then one panel per
/// reduction stage in which every patch that lost its row by then is covered in a strong colour (red
/// for dropped or fused, blue for merged), so the kept patches stand out at a glance. PNG.
/// </summary>
public static class PatchFigure
{
    public static readonly SKColor Removed = new(230, 40, 40, 190);
    public static readonly SKColor Merged = new(40, 90, 230, 190);

    /// <summary>Draws the figure for bytes [size, size, channels] and writes it to <paramref name="path"/>.</summary>
    public static void Write(string path, ReadOnlySpan<byte> pixels, ViTConfig config, IReadOnlyList<PatchStage> stages, bool merged, int scale = 8)
    {
        using var bitmap = Render(pixels, config, stages, merged, scale);
        using var image = SKImage.FromBitmap(bitmap);
        using var png = image.Encode(SKEncodedImageFormat.Png, 100);
        string? dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir != null) Directory.CreateDirectory(dir);
        using var file = File.Create(path);
        png.SaveTo(file);
    }

    public static SKBitmap Render(ReadOnlySpan<byte> pixels, ViTConfig config, IReadOnlyList<PatchStage> stages, bool merged, int scale)
    {
        int size = config.ImageSize, panel = size * scale, gap = 6, panels = stages.Count + 1;
        var figure = new SKBitmap(panels * panel + (panels - 1) * gap, panel);
        using var canvas = new SKCanvas(figure);
        canvas.Clear(SKColors.White);
        using var source = ToBitmap(pixels, size, config.Channels);
        using var sampling = new SKPaint();
        var patchPaint = new SKPaint { Color = merged ? Merged : Removed, Style = SKPaintStyle.Fill };
        var grid = new SKPaint { Color = new SKColor(255, 255, 255, 60), Style = SKPaintStyle.Stroke, StrokeWidth = 1 };
        for (int p = 0; p < panels; p++)
        {
            float x0 = p * (panel + gap);
            var dest = new SKRect(x0, 0, x0 + panel, panel);
            canvas.DrawBitmap(source, dest, sampling); // nearest neighbour: pixels stay crisp
            int cell = config.PatchSize * scale;
            if (p > 0)
            {
                var alive = stages[p - 1].Alive;
                for (int i = 0; i < alive.Length; i++)
                {
                    if (alive[i]) continue;
                    int gy = i / config.GridSize, gx = i % config.GridSize;
                    canvas.DrawRect(x0 + gx * cell, gy * cell, cell, cell, patchPaint);
                }
            }
            for (int g = 1; g < config.GridSize; g++)
            {
                canvas.DrawLine(x0 + g * cell, 0, x0 + g * cell, panel, grid);
                canvas.DrawLine(x0, g * cell, x0 + panel, g * cell, grid);
            }
        }
        patchPaint.Dispose();
        grid.Dispose();
        return figure;
    }

    private static SKBitmap ToBitmap(ReadOnlySpan<byte> pixels, int size, int channels)
    {
        var bitmap = new SKBitmap(size, size, SKColorType.Rgba8888, SKAlphaType.Opaque);
        for (int y = 0; y < size; y++)
            for (int x = 0; x < size; x++)
            {
                int o = (y * size + x) * channels;
                bitmap.SetPixel(x, y, channels >= 3 ? new SKColor(pixels[o], pixels[o + 1], pixels[o + 2]) : new SKColor(pixels[o], pixels[o], pixels[o]));
            }
        return bitmap;
    }
}
