/**
 * Validates a CloudFormation template against the published resource specification (`@aws-cdk/aws-service-spec`,
 * the database the AWS CDK generates its L1 constructs from): every resource type exists, every property name is
 * known, and required properties are present, down through nested property types. Values that are intrinsic
 * functions (`Ref`, `Fn::*`) are not looked into: only CloudFormation knows what they resolve to.
 */
import { loadAwsServiceSpec } from '@aws-cdk/aws-service-spec';

type SpecDb = Awaited<ReturnType<typeof loadAwsServiceSpec>>;
interface PropertyType {
  type: string;
  reference?: { $ref: string };
  element?: PropertyType;
  types?: PropertyType[];
}
interface Property {
  type: PropertyType;
  required?: boolean;
}

let database: Promise<SpecDb> | undefined;
const spec = () => {
  database ??= loadAwsServiceSpec();
  return database;
};

const isIntrinsic = (v: unknown) =>
  typeof v === 'object' &&
  v !== null &&
  !Array.isArray(v) &&
  Object.keys(v).length === 1 &&
  /^(Ref|Fn::.+|Condition)$/.test(Object.keys(v)[0] ?? '');

function checkValue(db: SpecDb, type: PropertyType, value: unknown, path: string, problems: string[]): void {
  if (value === undefined || isIntrinsic(value)) return;
  if (type.type === 'ref' && type.reference) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return;
    const def = db.get('typeDefinition', type.reference.$ref) as { properties: Record<string, Property> };
    checkProperties(db, def.properties, value as Record<string, unknown>, path, problems);
  } else if ((type.type === 'array' || type.type === 'map') && type.element) {
    const items = Array.isArray(value)
      ? value
      : typeof value === 'object' && value
        ? Object.values(value)
        : [];
    items.forEach((item, i) => {
      checkValue(db, type.element as PropertyType, item, `${path}[${i}]`, problems);
    });
  } else if (type.type === 'union' && type.types) {
    // A union of a plain type and a structure: check the structure only when the value is an object.
    const structure = type.types.find((t) => t.type === 'ref');
    if (structure && typeof value === 'object' && value !== null && !Array.isArray(value)) {
      checkValue(db, structure, value, path, problems);
    }
  }
}

function checkProperties(
  db: SpecDb,
  known: Record<string, Property>,
  values: Record<string, unknown>,
  path: string,
  problems: string[],
): void {
  for (const [name, value] of Object.entries(values)) {
    const property = known[name];
    if (!property) {
      problems.push(`${path}.${name}: unknown property`);
      continue;
    }
    checkValue(db, property.type, value, `${path}.${name}`, problems);
  }
  for (const [name, property] of Object.entries(known)) {
    if (property.required && values[name] === undefined)
      problems.push(`${path}.${name}: required property missing`);
  }
}

/** The problems found, one line each (`<LogicalId>.<path>: …`); empty when the template conforms. */
export async function validateAgainstSpec(
  resources: Record<string, { Type: string; Properties?: Record<string, unknown> }>,
): Promise<string[]> {
  const db = await spec();
  const problems: string[] = [];
  for (const [id, resource] of Object.entries(resources)) {
    if (resource.Type.startsWith('Custom::') || resource.Type === 'AWS::CloudFormation::CustomResource')
      continue;
    const found = db.lookup('resource', 'cloudFormationType', 'equals', resource.Type);
    const definition = found[0] as { properties: Record<string, Property> } | undefined;
    if (!definition) {
      problems.push(`${id}: unknown resource type ${resource.Type}`);
      continue;
    }
    checkProperties(db, definition.properties, resource.Properties ?? {}, id, problems);
  }
  return problems;
}
