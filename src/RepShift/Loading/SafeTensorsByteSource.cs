using Microsoft.Win32.SafeHandles;

namespace RepShift.Loading;

/// <summary>
/// Random-access bytes behind a <see cref="SafeTensorsFile"/>: positioned reads let each tensor be read
/// once, straight into its destination, without loading the whole file.
/// </summary>
internal abstract class SafeTensorsByteSource : IDisposable
{
    public abstract long Length { get; }

    /// <summary>Fills <paramref name="destination"/> from <paramref name="offset"/>; throws <see cref="EndOfStreamException"/> if the bytes are not there.</summary>
    public abstract void ReadExactly(long offset, Span<byte> destination);

    public abstract void Dispose();
}

/// <summary>A file opened by path; <see cref="RandomAccess"/> reads are thread-safe and move no shared position.</summary>
internal sealed class FileByteSource(SafeFileHandle handle) : SafeTensorsByteSource
{
    // Captured once: the header was validated against this length.
    public override long Length { get; } = RandomAccess.GetLength(handle);

    public override void ReadExactly(long offset, Span<byte> destination)
    {
        while (!destination.IsEmpty)
        {
            int n = RandomAccess.Read(handle, destination, offset);
            if (n == 0) throw new EndOfStreamException($"the file ended at {offset} bytes");
            destination = destination[n..];
            offset += n;
        }
    }

    public override void Dispose() => handle.Dispose();
}

/// <summary>A seekable stream whose current position is taken as the start of the file; reads are serialised by a lock.</summary>
internal sealed class StreamByteSource : SafeTensorsByteSource
{
    private readonly Stream _stream;
    private readonly long _start;
    private readonly bool _leaveOpen;
    private readonly Lock _lock = new();

    public StreamByteSource(Stream stream, bool leaveOpen)
    {
        if (!stream.CanSeek)
        {
            // One sequential copy keeps the "read every byte once" promise for pipes and network streams.
            var copy = new MemoryStream();
            stream.CopyTo(copy);
            if (!leaveOpen) stream.Dispose();
            copy.Position = 0;
            stream = copy;
            leaveOpen = false;
        }
        _stream = stream;
        _start = stream.Position;
        _leaveOpen = leaveOpen;
        Length = stream.Length - _start;
    }

    public override long Length { get; }

    public override void ReadExactly(long offset, Span<byte> destination)
    {
        lock (_lock)
        {
            _stream.Position = _start + offset;
            _stream.ReadExactly(destination);
        }
    }

    public override void Dispose()
    {
        if (!_leaveOpen) _stream.Dispose();
    }
}
