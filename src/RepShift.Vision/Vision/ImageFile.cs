using SkiaSharp;

namespace RepShift.Vision;

/// <summary>
/// Image files (PNG, JPEG, WebP, BMP, GIF: what Skia decodes) → the model's input bytes: converted to the
/// model's channel count (1 = grey by ITU-R 601 luma, as PIL's "L"; 3 = RGB; transparency over black, the
/// Fashion-MNIST background) and resized to its square input size with cubic sampling.
/// </summary>
public static class ImageFile
{
    /// <summary>Decodes <paramref name="path"/>; a missing, unreadable or undecodable file is a <see cref="RepShiftException"/>.</summary>
    public static SKBitmap Decode(string path)
    {
        if (!File.Exists(path)) throw new RepShiftException($"{path}: image file not found");
        byte[] bytes;
        try { bytes = File.ReadAllBytes(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new RepShiftException($"{path}: cannot read the file ({e.Message})", e);
        }
        return Decode(bytes, path);
    }

    public static SKBitmap Decode(byte[] bytes, string source)
    {
        if (bytes.Length == 0) throw new RepShiftException($"{source}: the file is empty, not an image");
        using var data = SKData.CreateCopy(bytes);
        using var codec = SKCodec.Create(data) ?? throw new RepShiftException($"{source}: not a readable image (PNG, JPEG, WebP, BMP or GIF expected)");
        var info = new SKImageInfo(codec.Info.Width, codec.Info.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        var bitmap = new SKBitmap(info);
        var result = codec.GetPixels(info, bitmap.GetPixels());
        if (result == SKCodecResult.Success) return bitmap;
        bitmap.Dispose();
        throw new RepShiftException(result == SKCodecResult.IncompleteInput
            ? $"{source}: the image data is truncated or corrupt"
            : $"{source}: the image data cannot be decoded ({result})");
    }

    /// <summary>Bytes [size, size, channels] for a model with <paramref name="channels"/> channels (1 or 3).</summary>
    public static byte[] ToModelBytes(SKBitmap bitmap, int size, int channels)
    {
        if (channels is not (1 or 3))
            throw new RepShiftException($"the model takes {channels} image channels; image files can be converted to 1 (grey) or 3 (RGB) channels only");
        using var resized = Resize(bitmap, size);
        var result = new byte[size * size * channels];
        for (int y = 0; y < size; y++)
            for (int x = 0; x < size; x++)
            {
                var c = resized.GetPixel(x, y);
                float a = c.Alpha / 255f;
                float r = c.Red * a, g = c.Green * a, b = c.Blue * a;
                int o = (y * size + x) * channels;
                if (channels == 1) result[o] = (byte)Math.Clamp(MathF.Round(0.299f * r + 0.587f * g + 0.114f * b), 0, 255);
                else
                {
                    result[o] = (byte)MathF.Round(r);
                    result[o + 1] = (byte)MathF.Round(g);
                    result[o + 2] = (byte)MathF.Round(b);
                }
            }
        return result;
    }

    /// <summary>Decodes, converts and normalises one file into the model's input floats [C, H, W].</summary>
    public static float[] Load(string path, ViTConfig config)
    {
        using var bitmap = Decode(path);
        var bytes = ToModelBytes(bitmap, config.ImageSize, config.Channels);
        var input = new float[config.Channels * config.ImageSize * config.ImageSize];
        ImagePreprocessor.Normalize(bytes, config.ImageSize, config.Channels, config.ImageMean, config.ImageStd, input);
        return input;
    }

    private static SKBitmap Resize(SKBitmap bitmap, int size)
    {
        if (bitmap.Width == size && bitmap.Height == size) return bitmap.Copy();
        var info = new SKImageInfo(size, size, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        return bitmap.Resize(info, new SKSamplingOptions(SKCubicResampler.CatmullRom)) ?? throw new RepShiftException("the image could not be resized");
    }
}
