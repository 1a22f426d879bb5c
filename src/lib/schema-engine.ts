// Drives Prisma's WASM schema engine (@prisma/schema-engine-wasm) through the pg
// driver adapter, so developers can diff schema.prisma into migration SQL on
// machines that cannot download Prisma's native engine. (Applying migrations is
// done by src/lib/migrator.ts: the engine's applyMigrations crashed here with
// "invalid type ... expected unit" under Node 20.)
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { PrismaPg } from '@prisma/adapter-pg';
import { bindMigrationAwareSqlAdapterFactory } from '@prisma/driver-adapter-utils';

const require = createRequire(import.meta.url);

type EngineModule = {
  __wbg_set_wasm(exports: unknown): void;
  __wbindgen_start?: () => void;
  SchemaEngine: {
    new: (options: unknown, log: (msg: string) => void, adapter: unknown) => Promise<SchemaEngineInstance>;
  };
};
export type SchemaEngineInstance = {
  diff(params: unknown): Promise<{ exitCode: number; stdout: string | null }>;
};

const FILTERS = { externalTables: [], externalEnums: [] };
let enginePromise: Promise<EngineModule> | undefined;

// schema_engine.js imports the .wasm file as an ES module, which Node 20 cannot
// do; instantiate the wasm ourselves and hand its exports to the JS glue.
async function loadEngineModule(): Promise<EngineModule> {
  enginePromise ??= (async () => {
    const gluePath = require.resolve('@prisma/schema-engine-wasm/schema_engine_bg');
    const dir = path.dirname(gluePath);
    // The wasm-bindgen glue ships no types; EngineModule lists what we call.
    const glue = (await import(pathToFileURL(gluePath).href)) as EngineModule;
    const bytes = await readFile(path.join(dir, 'schema_engine_bg.wasm'));
    // wasm-bindgen glue: the import object's shape is the generated module's own business.
    // eslint-disable-next-line no-restricted-syntax
    const { instance } = await WebAssembly.instantiate(bytes, { './schema_engine_bg.js': glue as never });
    glue.__wbg_set_wasm(instance.exports);
    glue.__wbindgen_start?.();
    return glue;
  })();
  return enginePromise;
}

export async function openSchemaEngine(connectionString: string, schemaFiles: [string, string][]) {
  const mod = await loadEngineModule();
  // The engine reads the schema name from the adapter's connection info and
  // fails on undefined ("failed to get connection info"): name it.
  const adapter = bindMigrationAwareSqlAdapterFactory(
    // The engine's adapter type comes from its own copy of @prisma/driver-adapter-utils (generated glue).
    // eslint-disable-next-line no-restricted-syntax
    new PrismaPg({ connectionString }, { schema: 'public' }) as never,
  );
  return mod.SchemaEngine.new(
    { datamodels: schemaFiles },
    (m: string) => {
      if (process.env.SCHEMA_ENGINE_DEBUG) console.error('[schema-engine]', m);
    },
    adapter,
  );
}

/** SQL that turns the datamodel `from` (or an empty database) into `to`. Needs no database. */
export async function diffSchemas(connectionString: string, from: string | null, to: string): Promise<string> {
  const engine = await openSchemaEngine(connectionString, [['schema.prisma', to]]);
  const out = await engine.diff({
    from:
      from === null ? { tag: 'empty' } : { tag: 'schemaDatamodel', files: [{ path: 'schema.prisma', content: from }] },
    to: { tag: 'schemaDatamodel', files: [{ path: 'schema.prisma', content: to }] },
    script: true,
    exitCode: false,
    filters: FILTERS,
  });
  return out.stdout ?? '';
}
