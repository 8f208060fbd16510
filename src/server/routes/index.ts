/**
 * The /api/v1 routes (registered under the prefix by app.ts).
 */
import type { App } from '../app.js';
import { predictRoutes } from './predict.js';
import { predictionRoutes } from './predictions.js';
import { featureRoutes } from './features.js';
import { operationRoutes } from './operations.js';

export function registerRoutes(api: App): void {
  predictRoutes(api);
  predictionRoutes(api);
  featureRoutes(api);
  operationRoutes(api);
}
