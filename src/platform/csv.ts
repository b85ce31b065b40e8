// RFC 4180 CSV, read as a stream and written one row at a time (issue 31: Shopify's product CSV).
// The reader is strict about quoting: a quote inside an unquoted field, text after a closing quote
// and a quoted field that never closes are errors that name the line, because guessing would put
// one product's cells into another's. It accepts CRLF, LF and a lone CR as line ends and skips a
// UTF-8 byte order mark (spreadsheets write one).

/** A syntax error in a CSV file, with the 1-based physical line where it is. */
export class CsvSyntaxError extends Error {
  constructor(
    readonly line: number,
    readonly reason: string,
  ) {
    super(`line ${line}: ${reason}`);
    this.name = "CsvSyntaxError";
  }
}

/** One record: its cells and the physical line it starts on (a quoted cell may span lines). */
export interface CsvRecord {
  line: number;
  fields: string[];
}

/** Limits one record may reach before the reader refuses the file (a hostile file cannot make a cell the size of memory). */
export interface CsvLimits {
  maxFieldChars: number;
  maxFields: number;
}

const DEFAULT_LIMITS: CsvLimits = { maxFieldChars: 64 * 1024, maxFields: 256 };

/** Characters that end a run: in an unquoted cell , CR LF and " (an error there); in a quoted cell " CR LF (lines are counted). */
const UNQUOTED_STOP = new Set([44, 13, 10, 34]);
const QUOTED_STOP = new Set([34, 13, 10]);

/** The index of the first character at or after `from` whose code is in `stops`, or the text's length. */
function scan(text: string, from: number, stops: ReadonlySet<number>): number {
  let i = from;
  while (i < text.length && !stops.has(text.charCodeAt(i))) i++;
  return i;
}

enum State {
  FieldStart,
  Unquoted,
  Quoted,
  QuoteInQuoted,
}

/**
 * An incremental RFC 4180 parser: `push` text in any chunks, `end` once. Records come out as soon
 * as their line ends; blank lines are skipped.
 */
export class CsvParser {
  private state = State.FieldStart;
  private field = "";
  private fields: string[] = [];
  private line = 1;
  private recordLine = 1;
  private quoteLine = 1;
  /** The previous chunk ended on a CR: a LF at the start of the next is the same line end. */
  private afterCR = false;
  private readonly limits: CsvLimits;

  constructor(limits: Partial<CsvLimits> = {}) {
    this.limits = { ...DEFAULT_LIMITS, ...limits };
  }

  push(text: string): CsvRecord[] {
    const out: CsvRecord[] = [];
    const n = text.length;
    let i = 0;
    while (i < n) {
      const ch = text[i]!;
      if (this.afterCR) {
        this.afterCR = false;
        if (ch === "\n") {
          // Inside a quoted field the CR and LF are both part of the value.
          if (this.state === State.Quoted) this.append(ch);
          i++;
          continue;
        }
      }
      switch (this.state) {
        case State.FieldStart:
          if (ch === '"') {
            this.state = State.Quoted;
            this.quoteLine = this.line;
          } else if (ch === ",") this.endField();
          else if (ch === "\r" || ch === "\n") this.endRecord(ch, out);
          else {
            this.state = State.Unquoted;
            continue; // the run below reads this character
          }
          i++;
          break;
        case State.Unquoted: {
          // A run of plain characters is appended as one slice (not character by character).
          const end = scan(text, i, UNQUOTED_STOP);
          if (end > i) this.append(text.slice(i, end));
          i = end;
          if (i === n) break;
          const stop = text[i]!;
          if (stop === ",") this.endField();
          else if (stop === '"') throw new CsvSyntaxError(this.line, "a quote inside an unquoted cell (quote the whole cell and double the quote)");
          else this.endRecord(stop, out);
          i++;
          break;
        }
        case State.Quoted: {
          const end = scan(text, i, QUOTED_STOP);
          if (end > i) this.append(text.slice(i, end));
          i = end;
          if (i === n) break;
          const stop = text[i]!;
          if (stop === '"') this.state = State.QuoteInQuoted;
          else {
            this.line++;
            if (stop === "\r") this.afterCR = true;
            this.append(stop);
          }
          i++;
          break;
        }
        case State.QuoteInQuoted:
          if (ch === '"') {
            this.append('"');
            this.state = State.Quoted;
          } else if (ch === ",") this.endField();
          else if (ch === "\r" || ch === "\n") this.endRecord(ch, out);
          else throw new CsvSyntaxError(this.line, "text after the closing quote of a cell");
          i++;
          break;
      }
    }
    return out;
  }

  /** The last record (a file need not end with a line end); throws on a quoted cell never closed. */
  end(): CsvRecord[] {
    if (this.state === State.Quoted) throw new CsvSyntaxError(this.quoteLine, "a quoted cell is never closed");
    const out: CsvRecord[] = [];
    if (this.state !== State.FieldStart || this.fields.length > 0) {
      this.pushField();
      this.emit(out);
    }
    return out;
  }

  private append(text: string): void {
    if (this.field.length + text.length > this.limits.maxFieldChars)
      throw new CsvSyntaxError(this.line, `a cell longer than ${this.limits.maxFieldChars} characters`);
    this.field += text;
  }

  private pushField(): void {
    if (this.fields.length >= this.limits.maxFields) throw new CsvSyntaxError(this.line, `more than ${this.limits.maxFields} cells in a row`);
    this.fields.push(this.field);
  }

  private endField(): void {
    this.pushField();
    this.field = "";
    this.state = State.FieldStart;
  }

  private endRecord(ch: string, out: CsvRecord[]): void {
    this.pushField();
    this.emit(out);
    this.line++;
    this.recordLine = this.line;
    if (ch === "\r") this.afterCR = true;
  }

  private emit(out: CsvRecord[]): void {
    const blank = this.fields.length === 1 && this.fields[0] === "" && this.state === State.FieldStart;
    if (!blank) out.push({ line: this.recordLine, fields: this.fields });
    this.fields = [];
    this.field = "";
    this.state = State.FieldStart;
  }
}

/** Parses a whole CSV text (tests, small files). */
export function parseCsv(text: string, limits: Partial<CsvLimits> = {}): CsvRecord[] {
  const parser = new CsvParser(limits);
  const records = parser.push(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  return [...records, ...parser.end()];
}

/**
 * Reads CSV records from a byte stream as they arrive, decoding UTF-8 strictly (bytes that are not
 * UTF-8 are a `CsvSyntaxError` on the line they are on) and skipping a byte order mark.
 */
export async function* readCsv(body: ReadableStream<Uint8Array>, limits: Partial<CsvLimits> = {}): AsyncGenerator<CsvRecord> {
  const parser = new CsvParser(limits);
  const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });
  const reader = body.getReader();
  let line = 1;
  const decode = (bytes: Uint8Array | undefined, stream: boolean): string => {
    try {
      return decoder.decode(bytes, { stream });
    } catch {
      throw new CsvSyntaxError(line, "the file is not UTF-8 text");
    }
  };
  try {
    for (;;) {
      const { done, value } = await reader.read();
      const text = done ? decode(undefined, false) : decode(value, true);
      for (const record of parser.push(text)) {
        line = record.line;
        yield record;
      }
      if (done) break;
    }
    yield* parser.end();
  } finally {
    reader.releaseLock();
  }
}

/**
 * Characters that make a spreadsheet read a cell as a formula when they lead it (OWASP "CSV
 * Injection": =, +, -, @, tab, CR; ASVS 1.2.10 adds NUL; LF and the full-width forms that some
 * spreadsheets fold to ASCII are added here).
 */
const FORMULA_LEAD = /^'*[=+\-@\t\r\n\0＝＋－＠]/;

/**
 * A cell as exported: one leading `'` (the spreadsheet's "this is text" mark) when the value would
 * run as a formula, and also when it already starts with `'`s before such a character, so that
 * `restoreFormulaText` undoes exactly what this did (an export re-imports unchanged).
 */
export function neutraliseFormula(value: string): string {
  return FORMULA_LEAD.test(value) ? `'${value}` : value;
}

/** The inverse of `neutraliseFormula`, applied to every imported cell. */
export function restoreFormulaText(value: string): string {
  return value.startsWith("'") && FORMULA_LEAD.test(value) ? value.slice(1) : value;
}

/** One CSV cell: quoted when it holds a comma, quote, line end or edge spaces; quotes doubled. */
export function csvCell(value: string): string {
  return /[",\r\n]|^\s|\s$/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

/** One CSV row ending in CRLF (RFC 4180 §2.1), every cell neutralised against formulas. */
export function csvRow(values: readonly string[]): string {
  return `${values.map((v) => csvCell(neutraliseFormula(v))).join(",")}\r\n`;
}
