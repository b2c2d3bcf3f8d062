import { asc, eq } from 'drizzle-orm';
import type { Db } from '../client.ts';
import { mapUnique, NotFoundError } from '../errors.ts';
import { type ProductLine, productLines } from '../schema.ts';

export function productLinesRepo(db: Db) {
  return {
    /** All product lines, by name. */
    async list(): Promise<ProductLine[]> {
      return db.select().from(productLines).orderBy(asc(productLines.name));
    },

    async get(id: string): Promise<ProductLine | null> {
      const [row] = await db.select().from(productLines).where(eq(productLines.id, id));
      return row ?? null;
    },

    /** Throws ConflictError when the name is taken. */
    async create(name: string, description?: string | null): Promise<ProductLine> {
      const [row] = await mapUnique(
        () =>
          db
            .insert(productLines)
            .values({ name, description: description ?? null })
            .returning(),
        `A product line named "${name}" already exists`,
      );
      return row!;
    },

    /** Throws NotFoundError / ConflictError. */
    async rename(id: string, name: string): Promise<ProductLine> {
      const [row] = await mapUnique(
        () => db.update(productLines).set({ name }).where(eq(productLines.id, id)).returning(),
        `A product line named "${name}" already exists`,
      );
      if (!row) throw new NotFoundError('product line', id);
      return row;
    },
  };
}
