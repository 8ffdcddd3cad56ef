// Code structure → units. TypeScript/JavaScript are parsed with the TypeScript compiler (a real parser, an optional
// dependency imported lazily: it takes seconds to load; without it TS/JS files are split by lines); Python uses its indentation rules (a def/class runs until the next line at its own indentation or
// less). A unit is a named declaration (function, class, method) or "glue" (imports, statements, comments).
import type * as TypeScript from 'typescript';
import type { CodeLanguage } from '../contracts.ts';
import type { Span } from './spans.ts';

export interface CodeUnit extends Span {
  /** Null for glue. */
  name: string | null;
  /** Members of a class; used only when the class does not fit in one chunk. */
  children: CodeUnit[];
}

type Ts = typeof TypeScript;
let typescript: Promise<Ts | null> | null = null;

/** The compiler, or null (said once on stderr) when the optional `typescript` package is not installed. */
function loadTypescript(): Promise<Ts | null> {
  typescript ??= import('typescript').then(
    (module) => module.default as Ts,
    () => {
      process.stderr.write(
        'warning: the code chunker parses TS/JS with the optional `typescript` package, which is not installed; ' +
          'TS/JS files are split by lines instead of by declarations (npm install typescript@5.9.3)\n',
      );
      return null;
    },
  );
  return typescript;
}

export async function codeUnits(text: string, language: CodeLanguage, fileName: string): Promise<CodeUnit[] | null> {
  if (language === 'typescript' || language === 'javascript') {
    const ts = await loadTypescript();
    return ts === null ? null : typescriptUnits(ts, text, language, fileName);
  }
  if (language === 'python') return pythonUnits(text);
  return null;
}

function typescriptUnits(ts: Ts, text: string, language: CodeLanguage, fileName: string): CodeUnit[] {
  const kind = language === 'javascript' ? ts.ScriptKind.JSX : ts.ScriptKind.TSX;
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true, kind);
  const units: CodeUnit[] = source.statements.map((statement) => ({
    start: statement.getFullStart(),
    end: statement.end,
    name: declarationName(ts, statement),
    children: ts.isClassDeclaration(statement) ? classMembers(ts, statement) : [],
  }));
  const last = units[units.length - 1];
  if (last === undefined) return [{ start: 0, end: text.length, name: null, children: [] }];
  if (last.end < text.length) units.push({ start: last.end, end: text.length, name: null, children: [] });
  return units;
}

function declarationName(ts: Ts, statement: TypeScript.Statement): string | null {
  if ((ts.isFunctionDeclaration(statement) || ts.isClassDeclaration(statement)) && statement.name !== undefined) {
    return statement.name.text;
  }
  if (ts.isVariableStatement(statement)) {
    const [declaration] = statement.declarationList.declarations;
    const initializer = declaration?.initializer;
    if (
      declaration !== undefined &&
      ts.isIdentifier(declaration.name) &&
      initializer !== undefined &&
      (ts.isArrowFunction(initializer) || ts.isFunctionExpression(initializer) || ts.isClassExpression(initializer))
    ) {
      return declaration.name.text;
    }
  }
  return null;
}

function classMembers(ts: Ts, declaration: TypeScript.ClassDeclaration): CodeUnit[] {
  const members = declaration.members;
  const first = members[0];
  if (first === undefined) return [];
  const units: CodeUnit[] = [
    { start: declaration.getFullStart(), end: first.getFullStart(), name: null, children: [] },
  ];
  for (const member of members) {
    const named =
      ts.isMethodDeclaration(member) ||
      ts.isConstructorDeclaration(member) ||
      ts.isGetAccessorDeclaration(member) ||
      ts.isSetAccessorDeclaration(member);
    const name = ts.isConstructorDeclaration(member) ? 'constructor' : (member.name?.getText() ?? null);
    units.push({ start: member.getFullStart(), end: member.end, name: named ? name : null, children: [] });
  }
  units.push({
    start: (members[members.length - 1] as TypeScript.ClassElement).end,
    end: declaration.end,
    name: null,
    children: [],
  });
  return units;
}

interface Line {
  start: number;
  end: number;
  indent: number;
  blank: boolean;
  text: string;
}

function lines(text: string): Line[] {
  const result: Line[] = [];
  let offset = 0;
  for (const line of text.split('\n')) {
    const content = line.trimStart();
    result.push({
      start: offset,
      end: Math.min(text.length, offset + line.length + 1),
      indent: line.length - content.length,
      blank: content.length === 0 || content.startsWith('#'),
      text: content,
    });
    offset += line.length + 1;
  }
  return result;
}

const PYTHON_DECLARATION = /^(async\s+def|def|class)\s+([A-Za-z_][A-Za-z0-9_]*)/;

/** Units among lines[from, to) at indentation `indent`. */
function pythonBlock(all: Line[], from: number, to: number, indent: number, withChildren: boolean): CodeUnit[] {
  const units: CodeUnit[] = [];
  let glueStart: number | null = null;
  let i = from;
  const flushGlue = (end: number): void => {
    if (glueStart !== null && end > glueStart) units.push({ start: glueStart, end, name: null, children: [] });
    glueStart = null;
  };
  while (i < to) {
    const line = all[i] as Line;
    const isDecorator = !line.blank && line.indent === indent && line.text.startsWith('@');
    const declaration = !line.blank && line.indent === indent ? PYTHON_DECLARATION.exec(line.text) : null;
    if (!isDecorator && declaration === null) {
      if (glueStart === null) glueStart = line.start;
      i += 1;
      continue;
    }
    // Leading comments/blank lines directly above stay with the glue; the unit starts at its decorator or keyword.
    flushGlue(line.start);
    let header = i;
    while (header < to && (all[header] as Line).text.startsWith('@')) header += 1;
    const match = header < to ? PYTHON_DECLARATION.exec((all[header] as Line).text) : null;
    let end = header + 1;
    while (end < to) {
      const next = all[end] as Line;
      if (!next.blank && next.indent <= indent) break;
      end += 1;
    }
    // Trailing blank lines belong to whatever follows.
    let last = end;
    while (last - 1 > header && (all[last - 1] as Line).text.length === 0) last -= 1;
    const isClass = match?.[1] === 'class';
    const bodyIndent = firstBodyIndent(all, header + 1, last);
    units.push({
      start: line.start,
      end: (all[last - 1] as Line).end,
      name: match?.[2] ?? null,
      children: withChildren && isClass && bodyIndent !== null ? classBody(all, header, last, bodyIndent) : [],
    });
    i = last;
  }
  flushGlue(to < all.length ? (all[to] as Line).start : (all[to - 1]?.end ?? 0));
  return units;
}

function firstBodyIndent(all: Line[], from: number, to: number): number | null {
  for (let i = from; i < to; i += 1) if (!(all[i] as Line).blank) return (all[i] as Line).indent;
  return null;
}

function classBody(all: Line[], header: number, end: number, indent: number): CodeUnit[] {
  const headerUnit: CodeUnit = {
    start: (all[header] as Line).start,
    end: (all[header] as Line).end,
    name: null,
    children: [],
  };
  // Decorators above the class keyword are part of the first glue unit via the block's start.
  return [headerUnit, ...pythonBlock(all, header + 1, end, indent, false)];
}

function pythonUnits(text: string): CodeUnit[] {
  const all = lines(text);
  const units = pythonBlock(all, 0, all.length, 0, true);
  // The class unit may start at a decorator line: make its first child start there too so children cover it.
  for (const unit of units) {
    const first = unit.children[0];
    if (first !== undefined) first.start = unit.start;
  }
  return units;
}
