import { z } from "zod";

import { EmbeddedRuntime } from "./embedded.js";
import { OllamaRuntime } from "./ollama.js";
import { OpenAIRuntime } from "./openai.js";
import type { Runtime } from "./types.js";

/**
 * Runtime section of the relayer config, validated once at start (the app embeds this schema in its own).
 *
 * ```json
 * { "kind": "embedded", "modelPath": "/models/llama-3.2-3b-q4_k_m.gguf", "modelName": "llama3.2" }
 * { "kind": "ollama", "baseUrl": "http://127.0.0.1:11434" }
 * { "kind": "openai", "baseUrl": "http://127.0.0.1:8000/v1", "apiKey": "…" }
 * ```
 */
export const runtimeConfigSchema = z.discriminatedUnion("kind", [
  z.strictObject({
    kind: z.literal("embedded"),
    modelPath: z.string().min(1).optional(),
    modelName: z.string().min(1).optional(),
    aliases: z.array(z.string().min(1)).optional(),
    cacheDir: z.string().min(1).optional(),
    gpu: z.union([z.enum(["auto", "cuda", "vulkan", "metal"]), z.literal(false)]).optional(),
    threads: z.number().int().positive().optional(),
    contextSize: z.number().int().positive().optional(),
    maxQueue: z.number().int().nonnegative().optional(),
    maxPromptBytes: z.number().int().positive().optional(),
  }),
  z.strictObject({
    kind: z.literal("ollama"),
    baseUrl: z.url().optional(),
    raw: z.boolean().optional(),
    retries: z.number().int().nonnegative().max(10).optional(),
    retryDelayMs: z.number().int().nonnegative().optional(),
    maxPromptBytes: z.number().int().positive().optional(),
  }),
  z.strictObject({
    kind: z.literal("openai"),
    baseUrl: z.url().optional(),
    apiKey: z.string().min(1).optional(),
    retries: z.number().int().nonnegative().max(10).optional(),
    retryDelayMs: z.number().int().nonnegative().optional(),
    maxPromptBytes: z.number().int().positive().optional(),
  }),
]);

export type RuntimeConfig = z.infer<typeof runtimeConfigSchema>;

/** Builds the configured runtime. The embedded one loads its model here, so this can take a while. */
export async function createRuntime(config: RuntimeConfig): Promise<Runtime> {
  switch (config.kind) {
    case "embedded": {
      const { kind: _kind, ...options } = config;
      return EmbeddedRuntime.open(options);
    }
    case "ollama": {
      const { kind: _kind, ...options } = config;
      return new OllamaRuntime(options);
    }
    case "openai": {
      const { kind: _kind, ...options } = config;
      return new OpenAIRuntime(options);
    }
  }
}
