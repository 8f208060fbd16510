/**
 * The /api/v1 routes: one plugin that registers each route plugin
 * (app.ts registers it under the prefix, after the context plugin).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { predictRoutes } from './predict.js';
import { predictionRoutes } from './predictions.js';
import { featureRoutes } from './features.js';
import { operationRoutes } from './operations.js';
import { performanceRoutes } from './performance.js';
import { dashboardRoutes } from './dashboard.js';
import { monitoringRoutes } from './monitoring.js';

export const apiRoutes: FastifyPluginAsyncTypebox = async (api) => {
  await api.register(predictRoutes);
  await api.register(predictionRoutes);
  await api.register(featureRoutes);
  await api.register(operationRoutes);
  await api.register(performanceRoutes);
  await api.register(dashboardRoutes);
  await api.register(monitoringRoutes);
};
