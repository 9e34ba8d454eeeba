namespace RepShift.Loading;

/// <summary>Loads a Hugging Face BERT-family model folder.</summary>
public static class HuggingFaceFolder
{
    public static ModelBundle Load(string folder) => throw new NotImplementedException($"{folder}: Hugging Face folders are not supported yet");
}
