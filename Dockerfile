# Runtime image for the API and the worker role (same code, ROLE selects).
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json .npmrc ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
RUN node scripts/generate.mjs
USER node
EXPOSE 3000
CMD ["node", "--import", "tsx", "src/main.ts"]
