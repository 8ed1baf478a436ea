/**
 * What the API answers when something goes wrong: `{ "error": { "code", "message" } }` with the
 * right status, never a stack trace.
 *
 * @packageDocumentation
 */
import type { FastifyError } from 'fastify';
import { EmoError } from '../errors';

/** An error the API answers with its own status and code. */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** Status of an EmoError: the audio's fault (400) unless the server lacks a tool or memory. */
function statusOfEmoError(error: EmoError): number {
  if (error.code === 'ERR_MISSING_TOOL') return 415;
  if (error.code === 'ERR_OUT_OF_MEMORY') return 503;
  return 400;
}

// Fastify's and its plugins' errors by status: our codes, their (stack-free) messages.
const CODE_OF_STATUS: Record<number, string> = {
  400: 'ERR_BAD_REQUEST',
  403: 'ERR_FORBIDDEN',
  404: 'ERR_NOT_FOUND',
  405: 'ERR_METHOD_NOT_ALLOWED',
  408: 'ERR_TIMEOUT',
  413: 'ERR_TOO_LARGE',
  415: 'ERR_UNSUPPORTED_MEDIA_TYPE',
  429: 'ERR_RATE_LIMITED',
  503: 'ERR_BUSY',
};

/** The JSON error body and status for anything thrown while handling a request. Never a stack trace. */
export function describeError(error: unknown): { status: number; body: { error: { code: string; message: string } } } {
  const body = (code: string, message: string) => ({ error: { code, message } });
  if (error instanceof HttpError) return { status: error.statusCode, body: body(error.code, error.message) };
  if (error instanceof EmoError) return { status: statusOfEmoError(error), body: body(error.code, error.message) };
  const status = (error as FastifyError)?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    let message = (error as Error).message;
    if (status === 413) message = `${message}: the upload limit is exceeded`;
    if (status === 415) message = 'unsupported content type: send audio/wav (other audio/* types need ffmpeg on the server) or a multipart/form-data upload';
    return { status, body: body(CODE_OF_STATUS[status] ?? 'ERR_BAD_REQUEST', message) };
  }
  if (status === 503) return { status, body: body('ERR_BUSY', (error as Error).message) };
  return { status: 500, body: body('ERR_INTERNAL', 'internal server error') };
}

