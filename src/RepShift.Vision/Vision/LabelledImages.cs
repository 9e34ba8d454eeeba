namespace RepShift.Vision;

/// <summary>
/// A set of equal-size images as bytes, [Count, Height, Width, Channels] interleaved (0–255), with a class
/// index each and the class names.
/// </summary>
public sealed class LabelledImages
{
    public required int Width { get; init; }
    public required int Height { get; init; }
    public required int Channels { get; init; }
    public required byte[] Pixels { get; init; }
    public required int[] Labels { get; init; }
    public required string[] ClassNames { get; init; }

    public int Count => Labels.Length;
    public int ImageBytes => Width * Height * Channels;

    public ReadOnlySpan<byte> Image(int index) => Pixels.AsSpan(index * ImageBytes, ImageBytes);
}
