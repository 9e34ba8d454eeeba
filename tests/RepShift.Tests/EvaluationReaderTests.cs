using RepShift.Evaluation;

namespace RepShift.Tests;

public class EvaluationReaderTests
{
    private const string SickHeader = "pair_ID\tsentence_A\tsentence_B\trelatedness_score\tentailment_judgment\n";

    private static RepShiftException Fails(Action read, string path, string expected)
    {
        var e = Assert.Throws<RepShiftException>(read);
        Assert.Contains(path, e.Message);
        Assert.Contains(expected, e.Message);
        return e;
    }

    [Fact]
    public void Sick_reads_pairs_by_header_name_with_crlf_and_bom()
    {
        using var dir = new TempDirectory();
        // Columns in another order, as in the full SICK release; CRLF line ends, a BOM and a trailing blank line.
        string path = dir.WriteBytes("sick.txt", [0xEF, 0xBB, 0xBF, .. System.Text.Encoding.UTF8.GetBytes(
            "pair_ID\tsentence_A\tsentence_B\tentailment_label\trelatedness_score\r\n1\tA dog runs.\tA dog is running.\tENTAILMENT\t4.5\r\n2\tA café.\tNo cat.\tNEUTRAL\t1\r\n\r\n")]);
        var pairs = StsReader.Read(path, StsFormat.Sick);
        Assert.Equal([new ScoredPair("A dog runs.", "A dog is running.", 4.5), new ScoredPair("A café.", "No cat.", 1)], pairs);
    }

    [Fact]
    public void Sick_errors_name_the_file_and_line()
    {
        using var dir = new TempDirectory();
        string columns = dir.Write("columns.txt", SickHeader + "1\ta\tb\t3.0\tNEUTRAL\n2\ta\tb\t3.0\n");
        Fails(() => StsReader.ReadSick(columns), columns, "line 3: expected 5 tab-separated columns");
        string score = dir.Write("score.txt", SickHeader + "1\ta\tb\tfour\tNEUTRAL\n");
        Fails(() => StsReader.ReadSick(score), score, "line 2: relatedness_score 'four' is not a number");
        string range = dir.Write("range.txt", SickHeader + "1\ta\tb\t3\tNEUTRAL\n2\ta\tb\t9\tNEUTRAL\n");
        Fails(() => StsReader.ReadSick(range), range, "line 3: relatedness_score 9 is out of range");
        string header = dir.Write("header.txt", "1\ta\tb\t3.0\tNEUTRAL\n");
        Fails(() => StsReader.ReadSick(header), header, "line 1: expected a tab-separated SICK header");
        string empty = dir.Write("empty.txt", SickHeader + "1\ta\t \t3.0\tNEUTRAL\n");
        Fails(() => StsReader.ReadSick(empty), empty, "line 2: sentence_B is empty");
        string none = dir.Write("none.txt", SickHeader);
        Fails(() => StsReader.ReadSick(none), none, "holds no sentence pairs");
    }

    [Fact]
    public void Stsb_reads_seven_columns_and_tolerates_extra_trailing_ones()
    {
        using var dir = new TempDirectory();
        string path = dir.Write("sts.csv", "main-news\tMSRvid\t2012test\t0001\t5.000\tA plane is taking off.\tAn air plane is taking off.\n"
            + "main-news\theadlines\t2015\t0002\t0.0\tA man.\tA cat.\textra\tcolumns\n");
        var pairs = StsReader.Read(path, StsFormat.Stsb);
        Assert.Equal([new ScoredPair("A plane is taking off.", "An air plane is taking off.", 5), new ScoredPair("A man.", "A cat.", 0)], pairs);
    }

    [Fact]
    public void Stsb_errors_name_the_file_and_line()
    {
        using var dir = new TempDirectory();
        string columns = dir.Write("columns.csv", "g\tf\t2012\t1\t3.0\ta\tb\ng\tf\t2012\t2\t3.0\ta\n");
        Fails(() => StsReader.ReadStsb(columns), columns, "line 2: expected 7 tab-separated columns");
        string score = dir.Write("score.csv", "\ng\tf\t2012\t1\tn/a\ta\tb\n");
        Fails(() => StsReader.ReadStsb(score), score, "line 2: score 'n/a' is not a number");
        string range = dir.Write("range.csv", "g\tf\t2012\t1\t-1\ta\tb\n");
        Fails(() => StsReader.ReadStsb(range), range, "line 1: score -1 is out of range");
    }

    [Fact]
    public void Invalid_utf8_is_an_error_naming_file_and_line()
    {
        using var dir = new TempDirectory();
        // 0xA3 is '£' in Latin-1 but not a valid UTF-8 byte.
        string path = dir.WriteBytes("latin1.txt", [.. "g\tf\t2012\t1\t3\ta\tb\ng\tf\t2012\t2\t3\t"u8, 0xA3, .. "5\tb\n"u8]);
        Fails(() => StsReader.ReadStsb(path), path, "line 2 is not valid UTF-8");
        string missing = Path.Combine(dir.Path, "missing.txt");
        Fails(() => StsReader.ReadStsb(missing), missing, "not found");
    }

    [Fact]
    public void Topic_folders_give_labels_and_whole_file_texts()
    {
        using var dir = new TempDirectory();
        dir.Write("SOURCE.txt", "About this data set.");
        dir.Write("sport/002.txt", "Cup final\n\nThe home side won.");
        dir.Write("sport/001.txt", "Marathon record\n\nA new best time.");
        dir.Write("sport/notes.md", "not a document");
        dir.Write("tech/001.txt", "New phone\n\nIt folds.");
        var docs = TopicFolderReader.Read(dir.Path);
        Assert.Equal(["sport", "sport", "tech"], docs.Select(d => d.Label));
        Assert.Equal(["Marathon record\n\nA new best time.", "Cup final\n\nThe home side won.", "New phone\n\nIt folds."], docs.Select(d => d.Text));
    }

    [Fact]
    public void Topic_folder_errors_name_the_folder_or_file()
    {
        using var dir = new TempDirectory();
        string root = dir.Folder("empty");
        Fails(() => TopicFolderReader.Read(root), root, "no label sub-folders");
        string onlyTop = dir.Folder("top");
        dir.Write("top/SOURCE.txt", "notes");
        Fails(() => TopicFolderReader.Read(onlyTop), onlyTop, "no label sub-folders");
        string noDocs = dir.Folder("nodocs");
        dir.Write("nodocs/sport/001.txt", "text");
        dir.Write("nodocs/tech/readme.md", "not a document");
        Fails(() => TopicFolderReader.Read(noDocs), Path.Combine(noDocs, "tech"), "holds no .txt files");
        string blank = dir.Write("blank/sport/001.txt", " \n\n");
        Fails(() => TopicFolderReader.Read(Path.Combine(dir.Path, "blank")), blank, "the document is empty");
        string missing = Path.Combine(dir.Path, "missing");
        Fails(() => TopicFolderReader.Read(missing), missing, "folder not found");
    }

    [Fact]
    public void Headlines_take_the_first_nonempty_line_as_query_sorted_by_path()
    {
        using var dir = new TempDirectory();
        dir.Write("tech/001.txt", "\n  New phone  \n\nIt folds.\nTwice.\n\n");
        dir.Write("business/sub/001.txt", "Shares rise\r\n\r\nMarkets were up.\r\n");
        dir.Write("business/001.txt", "Bank merger\nTwo banks join.");
        dir.Write("SOURCE.txt", "About\nthis data set.");
        dir.Write("business/skip.csv", "not a document");
        var notes = new DataNotes();
        var items = RetrievalReader.Read(dir.Path, RetrievalFormat.Headlines, notes);
        Assert.Equal([
            new QueryDocument("business/001", "Bank merger", "Two banks join."),
            new QueryDocument("business/sub/001", "Shares rise", "Markets were up."),
            new QueryDocument("tech/001", "New phone", "It folds.\nTwice."),
        ], items);
        Assert.Equal([Path.Combine(dir.Path, "SOURCE.txt")], notes.Skipped);
        Assert.Empty(notes.Recoded);
    }

    [Fact]
    public void Headline_errors_name_the_file_and_line()
    {
        using var dir = new TempDirectory();
        string noBody = dir.Write("a/001.txt", "\n\nJust a headline\n  \n");
        Fails(() => RetrievalReader.ReadHeadlines(Path.Combine(dir.Path, "a")), noBody, "line 3 holds the query but no document follows");
        string blank = dir.Write("b/001.txt", "\n \n");
        Fails(() => RetrievalReader.ReadHeadlines(Path.Combine(dir.Path, "b")), blank, "the file is empty");
        string empty = dir.Folder("c");
        Fails(() => RetrievalReader.ReadHeadlines(empty), empty, "holds no .txt files");
        string bad = dir.WriteBytes("d/001.txt", [.. "Headline\nBody "u8, 0xFF, .. "\n"u8]);
        Fails(() => RetrievalReader.ReadHeadlines(Path.Combine(dir.Path, "d")), bad, "line 2 is not valid UTF-8");
    }

    [Fact]
    public void A_document_that_is_not_utf8_is_read_as_windows1252_and_reported()
    {
        using var dir = new TempDirectory();
        dir.Write("a/001.txt", "Headline\nPlain body.");
        string latin = dir.WriteBytes("a/002.txt", [.. "Prices\nIt costs "u8, 0xA3, .. "5 and "u8, 0x93, .. "more"u8, 0x94, .. "\n"u8]);
        var notes = new DataNotes();
        var items = RetrievalReader.ReadHeadlines(Path.Combine(dir.Path, "a"), notes);
        Assert.Equal("It costs \u00A35 and \u201Cmore\u201D", items[1].Document);
        Assert.Equal([latin], notes.Recoded);
        Assert.Contains(notes.Lines(), l => l.Contains(latin) && l.Contains("Windows-1252"));
    }

    [Fact]
    public void Tsv_reads_id_query_document_lines()
    {
        using var dir = new TempDirectory();
        string path = dir.Write("pairs.tsv", "q1\tBank merger\tTwo banks join.\n\nq2\tNew phone\tIt folds.\n");
        Assert.Equal([new QueryDocument("q1", "Bank merger", "Two banks join."), new QueryDocument("q2", "New phone", "It folds.")],
            RetrievalReader.Read(path, RetrievalFormat.Tsv));
    }

    [Fact]
    public void Tsv_errors_name_the_file_and_line()
    {
        using var dir = new TempDirectory();
        string columns = dir.Write("columns.tsv", "q1\ta\tb\nq2\ta\tb\tc\n");
        Fails(() => RetrievalReader.ReadTsv(columns), columns, "line 2: expected 3 tab-separated columns");
        string twice = dir.Write("twice.tsv", "q1\ta\tb\nq2\ta\tb\nq1\tc\td\n");
        Fails(() => RetrievalReader.ReadTsv(twice), twice, "line 3: id 'q1' was already used on line 1");
        string noQuery = dir.Write("noquery.tsv", "q1\t \tb\n");
        Fails(() => RetrievalReader.ReadTsv(noQuery), noQuery, "line 1: the query is empty");
        string empty = dir.Write("empty.tsv", "\n\n");
        Fails(() => RetrievalReader.ReadTsv(empty), empty, "holds no query/document lines");
        Fails(() => RetrievalReader.ReadTsv(dir.Path), dir.Path, "is a folder");
    }
}
