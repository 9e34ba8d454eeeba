namespace RepShift.Cluster;

/// <summary>One text to embed and the id its vector is written under (a line's 0-based index when the input has no ids).</summary>
public readonly record struct InputRecord(string Id, string Text);
