/**
 * The one zod every request schema uses (`import * as z from '../http/zod.js'`): `zod/mini`, the same library's
 * tree-shakable API (a Lambda bundle carries ~20 KB of it instead of ~440 KB), with zod's English messages, which
 * the classic API loads by itself. Re-exported binding by binding, so that the bundler keeps only what is used.
 */
import { config } from 'zod/mini';
import en from 'zod/v4/locales/en.js';

config(en());

export * from 'zod/mini';
