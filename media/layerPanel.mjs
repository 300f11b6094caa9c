// The layer insight panel's page: lays out what the server worded (client/src/layerPanel.ts
// relays it) and sends back what the user did. Keyboard: ↑/↓ move between layers, → or Enter
// opens a layer's files (asked for then), ← closes it, g goes to its Dockerfile line, / filters,
// l confirms reading a base layer's files (the server said what that costs; Tab reaches the button too).
const vscode = acquireVsCodeApi();
const tree = document.getElementById('layers');
const title = document.getElementById('title');
const problem = document.getElementById('problem');
const totals = document.getElementById('totals');
let rows = [];
let focused = 0;
const open = new Map(); // layer index → files element

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function render(view) {
  title.textContent = view.title;
  problem.hidden = !view.problem;
  problem.textContent = view.problem ?? '';
  totals.replaceChildren(...view.totals.map((t) => element('li', '', t)));
  rows = view.rows;
  open.clear();
  const nodes = [];
  let group;
  for (const row of rows) {
    if (row.group !== group) {
      group = row.group;
      nodes.push(element('div', 'group', group === 'base' ? 'Base image' : 'This Dockerfile'));
    }
    const layer = element('div', 'layer');
    layer.setAttribute('role', 'treeitem');
    layer.setAttribute('aria-expanded', 'false');
    layer.tabIndex = -1;
    layer.dataset.index = String(row.index);
    const head = element('div', 'head');
    head.append(element('span', 'meta', `#${row.index + 1}`));
    const instruction = element('span', 'instruction', row.instruction);
    instruction.title = row.instruction;
    head.append(instruction);
    if (row.line !== undefined) {
      const go = element('button', 'link', `line ${row.line + 1}`);
      go.title = 'Go to the Dockerfile line (g)';
      go.addEventListener('click', (event) => {
        event.stopPropagation();
        vscode.postMessage({ type: 'line', line: row.line });
      });
      head.append(go);
    }
    layer.append(head);
    const meta = element('div', 'meta', `${row.sizes} · ${row.files}`);
    if (row.waste) meta.append(' · ', element('span', 'waste', row.waste));
    if (row.status) meta.append(' · ', element('span', 'status', row.status));
    if (row.registry) meta.append(' · ', element('span', 'registry', row.registry));
    layer.append(meta);
    const bar = element('div', 'bar');
    bar.style.width = `${Math.max(0.5, row.bar * 100)}%`;
    layer.append(bar);
    layer.addEventListener('click', () => {
      focus(row.index);
      toggle(row.index);
    });
    nodes.push(layer);
  }
  tree.replaceChildren(...nodes);
  focus(Math.min(focused, rows.length - 1));
}

function layerNode(index) {
  return tree.querySelector(`.layer[data-index="${index}"]`);
}

function focus(index) {
  if (index < 0 || index >= rows.length) return;
  layerNode(focused)?.classList.remove('focused');
  focused = index;
  const node = layerNode(index);
  node?.classList.add('focused');
  node?.focus();
}

function toggle(index, wanted) {
  const node = layerNode(index);
  if (!node) return;
  const isOpen = open.has(index);
  if (isOpen && wanted !== true) {
    open.get(index).remove();
    open.delete(index);
    node.setAttribute('aria-expanded', 'false');
    return;
  }
  if (isOpen) return;
  const files = element('div', 'files');
  files.setAttribute('role', 'group');
  const filter = element('input');
  filter.placeholder = 'Filter files';
  filter.setAttribute('aria-label', 'Filter this layer’s files');
  filter.addEventListener('input', () => vscode.postMessage({ type: 'files', layer: index, filter: filter.value }));
  filter.addEventListener('keydown', (event) => event.stopPropagation());
  files.append(filter, element('div', 'meta summary', 'Reading files…'), element('div', 'list'));
  node.append(files);
  open.set(index, files);
  node.setAttribute('aria-expanded', 'true');
  vscode.postMessage({ type: 'files', layer: index, filter: '' });
}

function showFiles(view) {
  if (view.view) {
    // A layer read on request: rows and totals recomputed; the layers open stay open.
    const wasOpen = [...open.keys()];
    render(view.view);
    for (const index of wasOpen) toggle(index, true);
    return;
  }
  const files = open.get(view.layer);
  if (!files) return;
  files.querySelector('.summary').textContent = view.summary;
  files.querySelector('.offer')?.remove();
  files.querySelector('input').hidden = view.offer !== undefined;
  if (view.offer !== undefined) {
    const offer = element('button', 'offer', view.offer);
    offer.addEventListener('click', (event) => {
      event.stopPropagation();
      offer.disabled = true;
      files.querySelector('.summary').textContent = 'Reading the layer…';
      vscode.postMessage({ type: 'download', layer: view.layer });
    });
    offer.addEventListener('keydown', (event) => event.stopPropagation());
    files.querySelector('.summary').after(offer);
  }
  const marks = { added: '+', changed: '~', removed: '−' };
  files.querySelector('.list').replaceChildren(
    ...view.files.map((f) => {
      const line = element('div', `file ${f.change}`, `${marks[f.change]} ${'  '.repeat(f.depth)}${f.name}  ${f.size}`);
      line.title = `/${f.path} (${f.change})`;
      return line;
    }),
  );
}

tree.addEventListener('keydown', (event) => {
  const row = rows[focused];
  if (!row) return;
  if (event.key === 'ArrowDown') focus(focused + 1);
  else if (event.key === 'ArrowUp') focus(focused - 1);
  else if (event.key === 'Home') focus(0);
  else if (event.key === 'End') focus(rows.length - 1);
  else if (event.key === 'ArrowRight') toggle(focused, true);
  else if (event.key === 'ArrowLeft' && open.has(focused)) toggle(focused);
  else if (event.key === 'Enter' || event.key === ' ') toggle(focused);
  else if (event.key === 'g' && row.line !== undefined) vscode.postMessage({ type: 'line', line: row.line });
  else if (event.key === 'l' && open.get(focused)?.querySelector('.offer:not(:disabled)')) open.get(focused).querySelector('.offer').click();
  else if (event.key === '/') {
    toggle(focused, true);
    open.get(focused)?.querySelector('input')?.focus();
  } else return;
  event.preventDefault();
});

document.getElementById('refresh').addEventListener('click', () => vscode.postMessage({ type: 'refresh' }));

window.addEventListener('message', (event) => {
  const message = event.data;
  if (message.type === 'loading') {
    problem.hidden = true;
    totals.replaceChildren(element('li', '', 'Reading the image…'));
  } else if (message.type === 'view') render(message.view);
  else if (message.type === 'files') showFiles(message.files);
});

// Messages sent before this script ran are not replayed: ask for the last one.
vscode.postMessage({ type: 'ready' });
