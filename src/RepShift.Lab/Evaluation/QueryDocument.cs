namespace RepShift.Evaluation;

/// <summary>A query and the one document it should find.</summary>
public sealed record QueryDocument(string Id, string Query, string Document);
