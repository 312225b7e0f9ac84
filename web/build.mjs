// Builds the page into editor/net/static/dist/: app.js (+ map), app.css, quill.snow.css and
// index.html whose asset URLs carry a content hash, so a new build is never served stale.
// `node build.mjs --watch` rebuilds on change.

import { createHash } from 'node:crypto';
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const outDir = process.env.EDITOR_WEB_OUT_DIR
  ?? join(here, '..', 'editor', 'net', 'static', 'dist');
const watch = process.argv.includes('--watch');

const options = {
  entryPoints: { app: join(here, 'src', 'main.js') }, // its CSS import becomes app.css
  outdir: outDir,
  bundle: true,
  format: 'esm',
  target: ['chrome100', 'firefox100', 'safari15'],
  minify: !watch,
  sourcemap: 'linked',
  legalComments: 'linked',
  logLevel: 'warning',
  metafile: true,
  plugins: [{
    name: 'editor-assets',
    setup(build) {
      build.onEnd(async (result) => {
        if (result.errors.length === 0) await writeAssets();
      });
    },
  }],
};

async function hashOf(path) {
  return createHash('sha256').update(await readFile(path)).digest('hex').slice(0, 12);
}

async function writeAssets() {
  await copyFile(join(here, 'node_modules', 'quill', 'dist', 'quill.snow.css'),
                 join(outDir, 'quill.snow.css'));
  const template = await readFile(join(here, 'src', 'index.html'), 'utf8');
  let html = template;
  for (const name of ['app.js', 'app.css', 'quill.snow.css']) {
    html = html.replaceAll(`/static/${name}"`, `/static/${name}?v=${await hashOf(join(outDir, name))}"`);
  }
  await writeFile(join(outDir, 'index.html'), html);
  console.log(`built the page into ${outDir}`);
}

await rm(outDir, { recursive: true, force: true });
await mkdir(outDir, { recursive: true });
if (watch) {
  const context = await esbuild.context(options);
  await context.watch();
} else {
  await esbuild.build(options);
}
