namespace RepShift.Evaluation;

/// <summary>A document with its label (the name of the folder it came from) and the file it was read from.</summary>
public sealed record LabelledText(string Label, string Text, string Source);
