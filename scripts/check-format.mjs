// The formatting check `npm test` runs (scripts/test.sh). Prettier at 120 columns would rewrite about a thousand
// lines the project writes longer on purpose, so instead this checks the rules the code already keeps and that
// drift breaks: text files end in one newline, no trailing whitespace, no tabs or CRLF; and in TypeScript and
// JavaScript, 2-space indentation, single-quoted strings, statements ending in semicolons and a trailing comma
// after the last item of a multi-line list. It parses with the TypeScript compiler already installed; seconds.
// Usage: node scripts/check-format.mjs [files...] (default: every file git tracks or would add).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import ts from 'typescript';

const TEXT = /\.(ts|mts|mjs|js|cjs|svelte|json|css|html|wgsl|md|sh|yml|yaml)$/;
const CODE = /\.(ts|mts|mjs|js|cjs)$/;

const files = process.argv.length > 2 ? process.argv.slice(2) : gitFiles();
const problems = [];
const report = (file, line, what) => problems.push(`${file}:${line}: ${what}`);

const checked = files.filter((f) => TEXT.test(f) || f.endsWith('.editorconfig'));
for (const file of checked) {
  let text;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    continue; // deleted in the working tree, not yet in the index
  }
  checkText(file, text);
  if (CODE.test(file)) checkCode(file, text);
}

if (problems.length) {
  for (const p of problems.slice(0, 500)) console.error(p);
  if (problems.length > 500) console.error(`... and ${problems.length - 500} more`);
  console.error(`format: ${problems.length} problem(s) in the style the code keeps (see "Develop" in README.md)`);
  process.exit(1);
}
console.error(`format: ${checked.length} files checked`);

function gitFiles() {
  const out = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], { encoding: 'utf8' });
  return [...new Set(out.split('\0').filter(Boolean))];
}

/** Whitespace rules for every text file. */
function checkText(file, text) {
  if (text === '') return;
  if (!text.endsWith('\n')) report(file, text.split('\n').length, 'no newline at the end of the file');
  else if (/\n\s*\n$/.test(text)) report(file, text.split('\n').length - 1, 'blank line(s) at the end of the file');
  text.split('\n').forEach((line, i) => {
    if (line.endsWith('\r')) report(file, i + 1, 'CRLF line ending');
    else if (/[ \t]$/.test(line)) report(file, i + 1, 'trailing whitespace');
    if (line.includes('\t') && !file.endsWith('.md')) report(file, i + 1, 'tab (indent with spaces)');
  });
}

/** Rules that need the syntax tree: what a formatter set to today's style would change. */
function checkCode(file, text) {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, file.endsWith('.ts') || file.endsWith('.mts') ? ts.ScriptKind.TS : ts.ScriptKind.JS);
  const lineOf = (pos) => sf.getLineAndCharacterOfPosition(pos).line;
  // Lines that start inside a template literal or a block comment keep whatever indentation their text needs.
  const free = new Set();
  const markFree = (start, end) => {
    for (let l = lineOf(start) + 1; l <= lineOf(end); l++) free.add(l);
  };
  const visit = (node) => {
    for (const c of ts.getLeadingCommentRanges(text, node.pos) ?? []) {
      if (c.kind === ts.SyntaxKind.MultiLineCommentTrivia) markFree(c.pos, c.end);
    }
    switch (node.kind) {
      case ts.SyntaxKind.StringLiteral: {
        const raw = node.getText(sf);
        // Double quotes only where the text holds a single quote (as Prettier chooses).
        if (raw.startsWith('"') && !raw.includes("'") && !ts.isJsxAttribute(node.parent)) report(file, lineOf(node.getStart(sf)) + 1, `double-quoted string ${raw.slice(0, 40)}`);
        break;
      }
      case ts.SyntaxKind.NoSubstitutionTemplateLiteral:
      case ts.SyntaxKind.TemplateExpression:
        markFree(node.getStart(sf), node.end);
        break;
    }
    if (needsSemicolon(node) && !node.getText(sf).endsWith(';')) report(file, lineOf(node.end) + 1, 'missing semicolon');
    const list = multiLineList(node);
    if (list && !list.hasTrailingComma && list.length > 0) {
      const last = list[list.length - 1];
      const close = closeAt(node, last, text);
      if (close >= 0 && lineOf(close) > lineOf(last.end) && !isRest(last)) {
        report(file, lineOf(last.end) + 1, 'no trailing comma after the last item of a multi-line list');
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);

  text.split('\n').forEach((line, i) => {
    if (free.has(i) || line.trim() === '') return;
    const indent = line.length - line.trimStart().length;
    if (indent % 2 !== 0) report(file, i + 1, `indentation of ${indent} spaces (use multiples of 2)`);
  });
}

/** Statements Prettier ends with a semicolon. */
function needsSemicolon(node) {
  switch (node.kind) {
    case ts.SyntaxKind.VariableStatement:
    case ts.SyntaxKind.ExpressionStatement:
    case ts.SyntaxKind.ReturnStatement:
    case ts.SyntaxKind.ThrowStatement:
    case ts.SyntaxKind.BreakStatement:
    case ts.SyntaxKind.ContinueStatement:
    case ts.SyntaxKind.ImportDeclaration:
    case ts.SyntaxKind.ExportDeclaration:
    case ts.SyntaxKind.ExportAssignment:
    case ts.SyntaxKind.TypeAliasDeclaration:
    case ts.SyntaxKind.DoStatement:
      return true;
    case ts.SyntaxKind.PropertyDeclaration:
      return !ts.isClassStaticBlockDeclaration(node);
    default:
      return false;
  }
}

/** The items of an object, array, call, parameter or import list, when its closing bracket is on a later line. */
function multiLineList(node) {
  if (ts.isObjectLiteralExpression(node) || ts.isObjectBindingPattern(node)) return node.properties ?? node.elements;
  if (ts.isArrayLiteralExpression(node) || ts.isArrayBindingPattern(node)) return node.elements;
  if (ts.isNamedImports(node) || ts.isNamedExports(node)) return node.elements;
  if ((ts.isCallExpression(node) || ts.isNewExpression(node)) && node.arguments) return node.arguments;
  if (ts.isFunctionLike(node) && node.parameters && !ts.isIndexSignatureDeclaration(node)) return node.parameters;
  return undefined;
}

/** Where the list's closing bracket is: the node's last character, or for parameters the `)` after them (-1: none). */
function closeAt(node, last, text) {
  if (!ts.isFunctionLike(node)) return node.end - 1;
  // `x => ...` has no parentheses to close.
  if (ts.isArrowFunction(node) && text[node.getStart()] !== '(' && text[node.getStart()] !== '<') return -1;
  for (let i = last.end; i < text.length; i++) {
    if (text[i] === ')') return i;
    if (!/[\s,]/.test(text[i]) && !text.startsWith('//', i)) return -1; // a comment or a surprise: do not guess
  }
  return -1;
}

/** A rest parameter or element takes no trailing comma. */
function isRest(node) {
  return Boolean(node.dotDotDotToken) && (ts.isParameter(node) || ts.isBindingElement(node));
}
