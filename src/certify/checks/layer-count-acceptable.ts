/**
 * LayerCountAcceptable (openshift-preflight internal/policy/container/max_layers.go): at most 40 layers in
 * the manifest. preflight passes at exactly 40 (`<=`), although its description and Red Hat's policy guide say
 * "less than 40"; we do as preflight does.
 */
import { CERT_DOCUMENTATION_URL, helpMessage, verdict, type Check } from '../check.js';

export const ACCEPTABLE_LAYER_MAX = 40;

export const layerCountAcceptable: Check = {
  name: 'LayerCountAcceptable',
  level: 'better',
  description: `Checking if container has less than ${ACCEPTABLE_LAYER_MAX} layers.  Too many layers within the container images can degrade container performance.`,
  help: helpMessage('LayerCountAcceptable'),
  suggestion:
    'Optimize your Dockerfile to consolidate and minimize the number of layers. Each RUN command will produce a new layer. Try combining RUN commands using && where possible.',
  knowledgebaseURL: CERT_DOCUMENTATION_URL,
  checkURL: CERT_DOCUMENTATION_URL,
  policyPage: 'docs/policy/layer-count-acceptable.md',
  async validate(s) {
    const n = s.image.layers().length;
    return verdict(n <= ACCEPTABLE_LAYER_MAX, `${n} layers (at most ${ACCEPTABLE_LAYER_MAX} allowed)`);
  },
};
